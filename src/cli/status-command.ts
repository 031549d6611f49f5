import { Command } from "commander";
import { pino } from "pino";
import { Cluster } from "../driver/cluster.ts";
import type { RunnerActivity } from "../driver/observe/runner-watch.ts";
import type { TlsOptions } from "../transport/secure.ts";
import { clusterTarget, withClusterFlags, type ClusterFlags } from "./cluster-flags.ts";
import { statusLines, type RunnerLine } from "./runner-table.ts";

// `strand status --runners a,b`: one look at every runner (threads, load, memory, objects,
// calls), then exit; 1 if any runner could not be reached or did not report.

/** How long a runner has to report before it counts as unreachable. */
const REPORT_TIMEOUT_MS = 10_000;
/** The second report carries CPU over a whole interval (the first one's is over no time at all). */
const INTERVAL_MS = 250;

const quiet = pino({ level: "silent" });

/** One runner's report, or why there is none: each runner on a connection of its own, so one down does not hide the others. */
async function look(address: string, token: string | undefined, tls: TlsOptions | undefined): Promise<RunnerLine> {
  let cluster: Cluster | undefined;
  try {
    cluster = await Cluster.create({ runners: [address], token, tls, reconnect: false, retries: 0, logger: quiet });
    const c = cluster;
    const a = await new Promise<RunnerActivity>((resolve, reject) => {
      let heard = 0;
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`no report within ${REPORT_TIMEOUT_MS / 1000} s`));
      }, REPORT_TIMEOUT_MS);
      const lost = (): void => {
        clearTimeout(timer);
        stop();
        reject(new Error("connection lost"));
      };
      c.on("runner", lost);
      const stop = c.watch((x) => {
        if (++heard < 2) return;
        clearTimeout(timer);
        stop();
        c.off("runner", lost);
        resolve(x);
      }, { intervalMs: INTERVAL_MS });
    });
    return { address, report: { stats: a.stats, usage: a.usage } };
  } catch (err) {
    return { address, error: err instanceof Error ? err.message : String(err) };
  } finally {
    await cluster?.close();
  }
}

/** The runners a head knows now. */
async function headRunners(head: string, token: string | undefined, tls: TlsOptions | undefined): Promise<string[]> {
  const cluster = await Cluster.create({ runners: [], head, token, tls, reconnect: false, retries: 0, logger: quiet });
  const addresses = cluster.runners.map((r) => r.address);
  await cluster.close();
  return addresses;
}

export function statusCommand(): Command {
  return withClusterFlags(new Command("status"))
    .description("show every runner once: threads, calls running, CPU, memory, objects, calls and failures")
    .action(async (o: ClusterFlags) => {
      const { runners, head, token, tls } = clusterTarget(o);
      const all = head === undefined ? runners : [...new Set([...runners, ...(await headRunners(head, token, tls))])];
      const lines = await Promise.all(all.map((a) => look(a, token, tls)));
      process.stdout.write(`${statusLines(lines).join("\n")}\n`);
      const down = lines.filter((l) => l.report === undefined);
      if (down.length > 0) {
        process.stderr.write(`strand status: ${down.length} of ${lines.length} runners unreachable: ${down.map((l) => `${l.address} (${l.error})`).join(", ")}\n`);
        process.exitCode = 1;
      }
    });
}
