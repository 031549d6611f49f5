import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { Command, Option } from "commander";
import { startLocalRunners, type LocalRunners } from "../driver/local.ts";
import { tlsEnv } from "../driver/tls-env.ts";
import { progressEnv, progressFlags, type ProgressFlags } from "./progress-flags.ts";
import { tlsFlags, tlsOptions, type TlsFlags } from "./tls-flags.ts";

export function runCommand(): Command {
  return new Command("run")
    .description("run a TypeScript or JavaScript driver script with connect() pointed at a cluster")
    .argument("<script>", "the driver script")
    .argument("[args...]", "arguments for the script (after --)")
    .addOption(new Option("--local <n>", "start n local runners for the script").conflicts("runners"))
    .option("--runners <list>", "comma-separated runner addresses (host:port)")
    .addOption(new Option("--head <host:port>", "the cluster's head (strand head): the script's runners are the ones registered there").conflicts("local"))
    .addOption(new Option("--token <token>", "shared token for the runners").env("STRAND_TOKEN"))
    .option("--metrics <[host:]port>", "the driver serves Prometheus metrics at /metrics (STRAND_METRICS for the script; loopback unless a host is given); with --local, the runners too")
    .addOption(tlsFlags.cert())
    .addOption(tlsFlags.key())
    .addOption(tlsFlags.ca())
    .addOption(progressFlags.on())
    .addOption(progressFlags.off())
    .addOption(progressFlags.interval())
    .option("--no-remote-logs", "leave what remote functions print on the runners instead of printing it here")
    .option("--trace <file>", "write a trace of the script's cluster (Chrome Trace Event JSON, for Perfetto) when it closes")
    .action(async (script: string, args: string[], o: { local?: string; runners?: string; head?: string; token?: string; remoteLogs: boolean; metrics?: string; trace?: string } & TlsFlags & ProgressFlags) => {
      // The script draws its own progress (connect() reads STRAND_PROGRESS): its stderr is ours.
      const env: NodeJS.ProcessEnv = { ...process.env, ...tlsEnv(tlsOptions(o)), ...progressEnv(o) };
      // connect() reads it, unless the script passes `logs` itself.
      if (!o.remoteLogs) env.STRAND_REMOTE_LOGS = "0";
      if (o.metrics !== undefined) env.STRAND_METRICS = o.metrics;
      // The script's clusters trace themselves and write the file as they close (cluster-trace.ts).
      if (o.trace !== undefined) env.STRAND_TRACE = path.resolve(o.trace);
      let local: LocalRunners | undefined;
      if (o.local !== undefined) {
        // The local runners take the certificate and key (and CA) too; the script presents the same.
        const tls = tlsOptions(o);
        local = await startLocalRunners({ runners: Number(o.local), ...(o.token ? { token: o.token } : {}), ...(tls ? { tls } : {}), metrics: o.metrics !== undefined });
        for (const [i, m] of local.metricsAddresses.entries()) process.stderr.write(`strand: runner ${local.addresses[i]} serves metrics on ${m}\n`);
        env.STRAND_RUNNERS = local.addresses.join(",");
        env.STRAND_TOKEN = local.token;
        Object.assign(env, tlsEnv(local.tls));
      } else {
        if (o.runners !== undefined) env.STRAND_RUNNERS = o.runners;
        if (o.head !== undefined) env.STRAND_HEAD = o.head;
        if (o.token !== undefined) env.STRAND_TOKEN = o.token;
      }
      const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), script, ...args], { stdio: "inherit", env });
      // Stopped (a batch script's trap, a container's stop): the script is told and given its
      // time to close its cluster; this process goes when it has, not before.
      const forward = (sig: NodeJS.Signals): void => {
        if (child.exitCode === null && child.signalCode === null) child.kill(sig);
      };
      process.on("SIGTERM", forward);
      process.on("SIGINT", forward);
      const code = await new Promise<number>((resolve) => child.on("exit", (c, sig) => resolve(c ?? (sig ? 128 : 1))));
      await local?.stop();
      if (o.trace !== undefined) {
        const file = path.resolve(o.trace);
        process.stderr.write(existsSync(file) ? `strand run: trace written to ${file} (open it in ui.perfetto.dev)\n` : `strand run: no trace written: the script closed no cluster\n`);
      }
      process.exit(code);
    });
}
