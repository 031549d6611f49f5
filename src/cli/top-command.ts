import { Command } from "commander";
import { Cluster } from "../driver/cluster.ts";
import type { RunnerActivity } from "../driver/observe/runner-watch.ts";
import { clusterTarget, withClusterFlags, type ClusterFlags } from "./cluster-flags.ts";
import { topPlainLines, topScreen, type RunnerLine } from "./runner-table.ts";

// `strand top --runners a,b`: every runner, redrawn every second until q or Ctrl-C. Into a
// pipe or a file (not a terminal) it prints plain lines instead, one per runner per refresh.

interface Heard {
  last: RunnerActivity;
  /** The report before, for rates. */
  prev: RunnerActivity | undefined;
}

/** Calls finished per second between two reports of one runner. */
function callsPerSec(h: Heard | undefined): number | undefined {
  if (h?.prev === undefined) return undefined;
  const seconds = (h.last.at - h.prev.at) / 1e6;
  return seconds > 0 ? Math.max(0, h.last.stats.calls - h.prev.stats.calls) / seconds : undefined;
}

const ALT_SCREEN = "\x1b[?1049h\x1b[?25l";
const MAIN_SCREEN = "\x1b[?25h\x1b[?1049l";

export function topCommand(): Command {
  return withClusterFlags(new Command("top"))
    .description("live per-runner view: threads busy, CPU, memory, objects, calls per second (q or Ctrl-C quits)")
    .option("--interval <ms>", "time between refreshes", (v) => positive(v, "--interval"), 1000)
    .option("-n, --iterations <n>", "stop after n refreshes", (v) => positive(v, "--iterations"))
    .action(async (o: ClusterFlags & { interval: number; iterations?: number }) => {
      const { runners, head, token, tls } = clusterTarget(o);
      const cluster = await Cluster.create({ runners, head, token, tls });
      const heard = new Map<string, Heard>();
      const tty = process.stdout.isTTY === true;
      const lines = (): RunnerLine[] => cluster.runners.map((r): RunnerLine => {
        const h = heard.get(r.address);
        if (!r.alive) return { address: r.address, error: "not connected (reconnecting)" };
        return { address: r.address, report: h === undefined ? undefined : { stats: h.last.stats, usage: h.last.usage }, callsPerSec: callsPerSec(h), firstReport: h?.prev === undefined };
      });
      let frames = 0;
      let stopped = false;
      let resolveFinished!: () => void;
      const finished = new Promise<void>((resolve) => (resolveFinished = resolve));
      const done = (): void => {
        stopped = true;
        resolveFinished();
      };
      // A refresh once every live runner has reported again (so each shows a new report), or
      // when one is an interval late: a slow or lost runner does not stop the view.
      const fresh = new Set<string>();
      const late = setInterval(() => draw(), o.interval * 2);
      const draw = (): void => {
        if (stopped) return;
        fresh.clear();
        late.refresh();
        const now = new Date();
        if (tty) {
          const screen = topScreen(lines(), { now, width: process.stdout.columns || 120, intervalMs: o.interval });
          process.stdout.write(`\x1b[H${screen.map((l) => `${l}\x1b[K`).join("\n")}\x1b[J`);
        } else {
          process.stdout.write(`${topPlainLines(lines(), now).join("\n")}\n`);
        }
        if (o.iterations !== undefined && ++frames >= o.iterations) done();
      };
      const stopWatching = cluster.watch((a) => {
        heard.set(a.runner, { last: a, prev: heard.get(a.runner)?.last });
        fresh.add(a.runner);
        if (cluster.runners.every((r) => !r.alive || fresh.has(r.address))) draw();
      }, { intervalMs: o.interval });
      if (tty) process.stdout.write(ALT_SCREEN);
      const input = process.stdin;
      if (tty && input.isTTY) {
        input.setRawMode(true);
        input.resume();
        input.on("data", (d: Buffer) => {
          const k = d.toString("utf8");
          if (k === "q" || k === "Q" || k === "\x03") done();
        });
      }
      process.once("SIGINT", () => done());
      process.once("SIGTERM", () => done());
      await finished;
      clearInterval(late);
      stopWatching();
      if (tty) {
        if (input.isTTY) input.setRawMode(false);
        input.pause();
        process.stdout.write(MAIN_SCREEN);
      }
      await cluster.close();
    });
}

function positive(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} wants a whole number >= 1, got "${v}"`);
  return n;
}
