import type { RunnerStats } from "../protocol/messages.ts";
import type { RunnerUsage } from "../protocol/activity.ts";

// What `strand status` and `strand top` print: pure functions from runner reports to lines,
// so that the output is tested without a terminal or a cluster.

/** One runner as the views know it: its last report, or why there is none. */
export interface RunnerLine {
  address: string;
  report?: { stats: RunnerStats; usage: RunnerUsage } | undefined;
  /** Unreachable, or lost: why. */
  error?: string | undefined;
  /** Calls finished per second over the last interval (top only). */
  callsPerSec?: number | undefined;
  /**
   * The report is the runner's first to this watcher: its CPU is measured over no time at
   * all, and not shown.
   */
  firstReport?: boolean | undefined;
}

const cpuOf = (r: RunnerLine): string => (r.firstReport === true ? "-" : r.report!.usage.cpu.toFixed(2));
/** Actors living on the runner ("-": a runner from before actors). */
const actorsOf = (s: RunnerStats): string => String(s.actorCount ?? s.actors?.length ?? "-");

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 || n >= 100 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

/** Columns padded to their widest cell; `right` columns aligned right. */
export function columns(header: readonly string[], rows: readonly (readonly string[])[], right: ReadonlySet<number>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)];
}

const STATUS_HEADER = ["RUNNER", "THREADS", "RUNNING", "CPU", "RSS", "OBJECTS", "BYTES", "CALLS", "FAILURES", "ACTORS"];

/** `strand status`: a table of the runners, unreachable ones saying why, and a total. */
export function statusLines(runners: readonly RunnerLine[]): string[] {
  const rows = runners.map((r): string[] => {
    const x = r.report;
    if (x === undefined) return [r.address, `unreachable: ${r.error ?? "no report"}`];
    return [
      r.address, String(x.usage.threads), String(x.usage.running), cpuOf(r), formatBytes(x.usage.rss),
      String(x.stats.objects), formatBytes(x.stats.objectBytes), String(x.stats.calls), String(x.stats.failures), actorsOf(x.stats),
    ];
  });
  // An unreachable runner's message runs across the columns: left out of the widths.
  const table = columns(STATUS_HEADER, rows.filter((r) => r.length > 2), new Set([1, 2, 3, 4, 5, 6, 7, 8, 9]));
  const out = [table[0]!];
  let k = 1;
  for (const r of rows) out.push(r.length > 2 ? table[k++]! : `${r[0]}  ${r[1]}`);
  out.push("", total(runners));
  return out;
}

function total(runners: readonly RunnerLine[]): string {
  const up = runners.filter((r) => r.report !== undefined).map((r) => r.report!);
  const sum = (f: (x: { stats: RunnerStats; usage: RunnerUsage }) => number): number => up.reduce((s, x) => s + f(x), 0);
  const actors = sum((x) => x.stats.actorCount ?? x.stats.actors?.length ?? 0);
  const waiting = sum((x) => x.stats.actorMailbox ?? 0);
  return `${up.length} of ${runners.length} runners up · ${sum((x) => x.usage.running)} running on ${sum((x) => x.usage.threads)} threads · `
    + `${sum((x) => x.stats.objects)} objects (${formatBytes(sum((x) => x.stats.objectBytes))}) · ${sum((x) => x.stats.calls)} calls, ${sum((x) => x.stats.failures)} failed`
    + (actors === 0 ? "" : ` · ${actors} ${actors === 1 ? "actor" : "actors"}, ${waiting} ${waiting === 1 ? "call" : "calls"} in their mailboxes`);
}

const TOP_HEADER = ["RUNNER", "BUSY", "RUNNING", "CPU", "RSS", "HEAP", "OBJECTS", "BYTES", "CALLS/S", "CALLS", "FAILED", "ACTORS"];

/** Threads busy as a bar: `[##--]`. */
export function busyBar(running: number, threads: number, max = 16): string {
  const n = Math.min(threads, max);
  const on = Math.min(running, n);
  return `[${"#".repeat(on)}${"-".repeat(n - on)}]${threads > max ? "+" : ""}`;
}

/** `strand top` on a terminal: a title, the table, a hint; cut to `width` columns. */
export function topScreen(runners: readonly RunnerLine[], o: { now: Date; width: number; intervalMs: number }): string[] {
  const rows = runners.map((r): string[] => {
    const x = r.report;
    if (x === undefined) return [r.address, r.error === undefined ? "waiting for a report" : `lost: ${r.error}`];
    return [
      r.address, busyBar(x.usage.running, x.usage.threads), `${x.usage.running}/${x.usage.threads}`, cpuOf(r),
      formatBytes(x.usage.rss), formatBytes(x.usage.heapUsed), String(x.stats.objects), formatBytes(x.stats.objectBytes),
      r.callsPerSec === undefined ? "-" : r.callsPerSec.toFixed(1), String(x.stats.calls), String(x.stats.failures), actorsOf(x.stats),
    ];
  });
  const table = columns(TOP_HEADER, rows.filter((r) => r.length > 2), new Set([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
  const lines = [`strand top · ${o.now.toLocaleTimeString("en-GB")} · every ${o.intervalMs / 1000} s · q to quit`, "", table[0]!];
  let k = 1;
  for (const r of rows) lines.push(r.length > 2 ? table[k++]! : `${r[0]}  ${r[1]}`);
  lines.push("", total(runners));
  return lines.map((l) => (l.length > o.width ? l.slice(0, Math.max(0, o.width - 1)) + "…" : l));
}

/** `strand top` into a pipe or file: one plain line per runner per refresh, key=value. */
export function topPlainLines(runners: readonly RunnerLine[], now: Date): string[] {
  const time = now.toISOString();
  return runners.map((r) => {
    const x = r.report;
    if (x === undefined) return `${time} ${r.address} state=${r.error === undefined ? "waiting" : "lost"}${r.error === undefined ? "" : ` error=${JSON.stringify(r.error)}`}`;
    return `${time} ${r.address} state=up threads=${x.usage.threads} running=${x.usage.running} cpu=${cpuOf(r)} rss=${x.usage.rss} `
      + `heap=${x.usage.heapUsed} objects=${x.stats.objects} bytes=${x.stats.objectBytes} calls=${x.stats.calls} `
      + `calls_per_s=${r.callsPerSec === undefined ? "-" : r.callsPerSec.toFixed(1)} failures=${x.stats.failures} `
      + `actors=${actorsOf(x.stats)} actor_mailbox=${x.stats.actorMailbox ?? "-"}`;
  });
}
