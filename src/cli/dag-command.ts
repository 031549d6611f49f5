import path from "node:path";
import { Command } from "commander";
import { runGraph, type ActionEvent, type GraphResult } from "../driver/builds/graph-runner.ts";
import { loadGraph } from "../driver/builds/graph.ts";
import { CommandError } from "../errors.ts";
import type { TlsFlags } from "./tls-flags.ts";
import { jobCluster, withJobClusterFlags } from "./cluster-flags.ts";

// `strand dag run graph.json`: a command graph (driver/builds/graph.ts) on a cluster; the
// graph's results written here; what ran where, and how the time went, printed.

const ms = (x: number): string => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`);

/** One line per action (in the order they finished) and the phases, as `strand dag run` prints them. */
export function formatReport(r: GraphResult, runners: readonly { address: string; threads: number }[]): string {
  const lines: string[] = [];
  const done = Object.values(r.actions).sort((a, b) => a.id.localeCompare(b.id));
  const width = Math.max(6, ...done.map((a) => a.id.length), ...Object.keys(r.failed).map((id) => id.length));
  lines.push(`${"action".padEnd(width)}  ${"runner".padEnd(21)} ${"state".padEnd(7)} ${"queue".padStart(8)} ${"upload".padStart(8)} ${"fetch".padStart(8)} ${"run".padStart(8)} ${"total".padStart(8)}`);
  for (const a of done) {
    const t = a.timings;
    lines.push(`${a.id.padEnd(width)}  ${a.runner.padEnd(21)} ${(a.cached ? "cached" : "ran").padEnd(7)} ${ms(t.queueMs).padStart(8)} ${ms(t.uploadMs).padStart(8)} ${ms(t.fetchMs).padStart(8)} ${ms(t.runMs).padStart(8)} ${ms(t.totalMs).padStart(8)}`);
  }
  for (const id of Object.keys(r.failed).sort()) lines.push(`${id.padEnd(width)}  ${"".padEnd(21)} failed`);
  for (const id of [...r.skipped].sort()) lines.push(`${id.padEnd(width)}  ${"".padEnd(21)} skipped`);
  const sum = (f: (t: GraphResult["actions"][string]) => number): number => done.reduce((s, a) => s + f(a), 0);
  const transferBytes = sum((a) => a.bytesUploaded + a.bytesFetched);
  lines.push("");
  lines.push(`phases: plan ${ms(r.planMs)}, build ${ms(r.wallMs)} (dispatch: ${ms(sum((a) => a.timings.queueMs))} queued in the driver; transfer: ${ms(sum((a) => a.timings.uploadMs + a.timings.fetchMs))}, ${transferBytes} bytes; run: ${ms(sum((a) => a.timings.runMs))} of commands)`);
  for (const rn of runners) {
    const mine = done.filter((a) => a.runner === rn.address && !a.cached);
    const busy = mine.reduce((s, a) => s + a.timings.totalMs - a.timings.queueMs, 0);
    const idle = Math.max(0, r.wallMs * rn.threads - busy);
    lines.push(`runner ${rn.address}: ${mine.length} actions, busy ${ms(busy)}, idle ${ms(idle)} (${rn.threads} thread${rn.threads === 1 ? "" : "s"})`);
  }
  const c = r.counts;
  lines.push(`${c.actions} actions: ${c.ran} ran, ${c.cached} cached, ${c.failed} failed, ${c.skipped} skipped${c.remade > 0 ? `, ${c.remade} remade after a lost runner` : ""}`);
  return `${lines.join("\n")}\n`;
}

function describeEvent(e: ActionEvent): string | undefined {
  switch (e.type) {
    case "done": return `${e.cached ? "cached" : "done  "} ${e.id} (${e.runner}, ${ms(e.timings.totalMs)})`;
    case "failed": return `failed ${e.id}: ${e.error instanceof CommandError ? `exit status ${e.error.exitCode}` : e.error.message}`;
    case "skipped": return `skip   ${e.id}: ${e.because}`;
    case "remade": return `remake ${e.id}: ${e.because}`;
    default: return undefined;
  }
}

export function dagCommand(): Command {
  const run = withJobClusterFlags(new Command("run"), "the graph", { local: "1" })
    .description("run a command graph (JSON: actions with argv, inputs, outputs) on a cluster, and write its results")
    .argument("<graph.json>", "the graph: { actions: [{ id, argv, inputs, outputs, tools?, env?, cwd? }], results?: { path: { action, output } } }; paths relative to this file")
    .option("--cache-dir <dir>", "local runners' cache directory (files, action cache)")
    .option("--barriers", "run the graph in topological levels, each waiting for the last (DistGo's way: for comparison)")
    .option("--trace <file>", "write a trace of the build (Chrome Trace Event JSON, for Perfetto)")
    .option("-q, --quiet", "print only the summary, not each action as it ends")
    .action(async (file: string, o: { local?: number; threads?: number; cacheDir?: string; runners?: string; head?: string; token?: string; barriers?: boolean; trace?: string; quiet?: boolean } & TlsFlags) => {
      const graph = await loadGraph(file);
      const cluster = await jobCluster(o, {
        runners: 1, ...(o.threads !== undefined ? { threads: o.threads } : {}), ...(o.cacheDir !== undefined ? { cacheDir: path.resolve(o.cacheDir) } : {}),
      });
      let code = 0;
      try {
        if (o.trace !== undefined) await cluster.trace.start();
        const result = await runGraph(cluster, graph, {
          barriers: o.barriers === true,
          onAction: (e) => {
            const line = o.quiet === true ? undefined : describeEvent(e);
            if (line !== undefined) process.stderr.write(`${line}\n`);
          },
        }).finally(async () => {
          if (o.trace !== undefined) {
            await cluster.trace.stop(path.resolve(o.trace));
            process.stderr.write(`strand dag: trace written to ${path.resolve(o.trace)} (open it in ui.perfetto.dev)\n`);
          }
        });
        // Results are named relative to the graph file, as its inputs are.
        for (const [out, ref] of Object.entries(result.results)) await cluster.getFile(ref, path.resolve(path.dirname(file), out));
        process.stdout.write(formatReport(result, cluster.runners));
        for (const [id, err] of Object.entries(result.failed)) process.stderr.write(`strand dag: action ${id} failed: ${err.message}\n`);
        if (!result.ok) code = 1;
      } catch (err) {
        process.stderr.write(`strand dag: ${(err as Error).message}\n`);
        code = 1;
      } finally {
        await cluster.close();
      }
      process.exit(code);
    });
  return new Command("dag").description("command graphs: builds of any commands, cached and spread over the cluster").addCommand(run);
}

