import { Command, Option } from "commander";
import { parseAddress } from "../transport/connection.ts";
import { Head } from "../head/head.ts";
import { HealthEndpoint } from "../protocol/health.ts";
import { tlsOptions, tlsFlags, type TlsFlags } from "./tls-flags.ts";

export function headCommand(): Command {
  return new Command("head")
    .description("run a cluster's membership service: runners join it (strand runner --join), drivers learn the runners from it (connect({ head }))")
    .option("--listen <host:port>", "address to listen on (port 0 picks a free one)", "127.0.0.1:7600")
    .addOption(new Option("--token <token>", "shared secret runners and drivers must prove they hold").env("STRAND_TOKEN"))
    .option("--health <[host:]port>", "serve /healthz and /readyz over HTTP (loopback unless a host is given)")
    .addOption(tlsFlags.cert("this head's certificate (PEM file or text): TLS on its port"))
    .addOption(tlsFlags.key())
    .addOption(tlsFlags.ca("CA that signs the runners' and drivers' certificates; requires client certificates (mutual TLS)"))
    .addOption(new Option("--exit-with-stdin", "exit when stdin closes (used for child heads)").hideHelp())
    .action(async (o: { listen: string; token?: string; health?: string; exitWithStdin?: boolean } & TlsFlags) => {
      const { host, port } = parseAddress(o.listen, 7600);
      const head = await Head.start({ host, port, token: o.token || undefined, tls: tlsOptions(o) });
      const health = o.health === undefined ? undefined : await HealthEndpoint.start(o.health, () => undefined);
      if (health !== undefined) process.stdout.write(`health on ${health.address}\n`);
      process.stdout.write(`listening on ${head.address}\n`);
      head.log.info({ address: head.address, auth: o.token ? "token" : "none (loopback)", tls: tlsOptions(o) === undefined ? "off" : "on", health: health?.address ?? "off" }, "head ready");
      const stop = (): void => {
        void Promise.all([head.close(), health?.close()]).then(() => process.exit(0), () => process.exit(1));
      };
      process.on("SIGTERM", stop);
      process.on("SIGINT", stop);
      if (o.exitWithStdin) {
        process.stdin.on("end", stop);
        process.stdin.on("error", stop);
        process.stdin.resume();
      }
    });
}
