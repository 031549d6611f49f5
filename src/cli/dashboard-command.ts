import { Command, Option } from "commander";
import { Cluster } from "../driver/cluster.ts";
import { announcement } from "../driver/dashboard/options.ts";
import { clusterTarget, withClusterFlags, type ClusterFlags } from "./cluster-flags.ts";

// `strand dashboard --runners a,b`: a driver that runs nothing, watches every runner (every
// driver's calls, as spans) and serves the live page until SIGINT or SIGTERM.

export function dashboardCommand(): Command {
  return withClusterFlags(new Command("dashboard"))
    .description("serve a live, read-only web page of the runners: load, task stream, progress, errors")
    .option("--listen <host:port>", "where to serve it (default 127.0.0.1:8787, or a free port if that is taken); off loopback it asks for the token")
    .addOption(new Option("--https-cert <pem>", "serve HTTPS with this certificate (PEM file or text)"))
    .addOption(new Option("--https-key <pem>", "the private key of --https-cert"))
    .action(async (o: ClusterFlags & { listen?: string; httpsCert?: string; httpsKey?: string }) => {
      const { runners, head, token, tls } = clusterTarget(o);
      const https = o.httpsCert !== undefined || o.httpsKey !== undefined ? { cert: o.httpsCert, key: o.httpsKey } : undefined;
      const cluster = await Cluster.create({ runners, head, token, tls, dashboard: { listen: o.listen, quiet: true, ...(https ? { tls: https } : {}) } });
      // The token is never printed: the line says to add it off loopback.
      process.stdout.write(`${announcement(cluster.dashboardUrl!, o.listen)}\n`);
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      await cluster.close();
    });
}
