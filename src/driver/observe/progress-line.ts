import type { FunctionCounts, ProgressSnapshot } from "./progress.ts";

// Snapshot -> text, nothing else: no terminal, no clock. The display (progress-display.ts)
// only draws what these return, so every line a user can see is tested here without a terminal.

/** `bar`: the live line on a terminal; `lines`: a plain line for logs (CI), one per period. */
export type ProgressStyle = "bar" | "lines";

export interface LineOptions {
  style: ProgressStyle;
  /** What runs: "strand", "mpirun", a helper's label. Empty: none. */
  label?: string;
  /** What is counted ("calls", "ranks"; empty for bare numbers). Default "calls". */
  unit?: string;
  /** The count to reach; default the snapshot's `submitted` (the calls made so far). */
  total?: number;
  /** Columns the line must fit in (the bar style keeps one free: a full line would wrap). */
  width?: number;
  /** Cells of the bar (default 20). */
  barWidth?: number;
  /** Show the runner and per-function fields (default true; a helper over items has neither). */
  calls?: boolean;
}

const FULL = "█";
const EMPTY = "░";

/** "0.4", "12.3", "412", "12.3k", "1.2M". */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return "0";
  if (perSecond < 10) return perSecond.toFixed(1);
  if (perSecond < 10_000) return String(Math.round(perSecond));
  if (perSecond < 10_000_000) return `${(perSecond / 1000).toFixed(perSecond < 100_000 ? 1 : 0)}k`;
  return `${(perSecond / 1e6).toFixed(1)}M`;
}

/** "0.8s", "42.0s", "1m05s", "2h03m". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** `cells` cells, filled in proportion to done / total (full only when done reaches total). */
export function formatBar(done: number, total: number, cells: number): string {
  const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const full = Math.floor(frac * cells);
  return FULL.repeat(full) + EMPTY.repeat(cells - full);
}

/** "square 120/150", "cube 30/50 (1 failed)". */
function formatFunction(name: string, f: FunctionCounts): string {
  return `${name} ${f.done + f.failed}/${f.submitted}${f.failed > 0 ? ` (${f.failed} failed)` : ""}`;
}

/** The snapshot as one line of text, without a newline. */
export function progressLine(s: ProgressSnapshot, o: LineOptions): string {
  const unit = o.unit ?? "calls";
  const total = o.total ?? s.submitted;
  const settled = s.done + s.failed;
  const calls = o.calls ?? true;
  const count = `${settled}/${total}${unit === "" ? "" : ` ${unit}`}`;
  const fns = calls ? Object.entries(s.byFunction).map(([n, f]) => formatFunction(n, f)) : [];
  const runners = calls ? `${s.runnersBusy}/${s.runners} runners busy` : undefined;
  if (o.style === "lines") {
    const rate = unit === "" ? `${formatRate(s.rate)}/s` : `${formatRate(s.rate)} ${unit}/s`;
    const parts = [
      `${s.final ? "finished " : ""}${count} (${s.done} ok, ${s.failed} failed${s.final ? "" : `, ${s.running} running`})`,
      rate,
      ...(runners !== undefined && !s.final ? [runners] : []),
      formatDuration(s.elapsedMs),
    ];
    const head = `${o.label ? `${o.label}: ` : ""}${parts.join(", ")}`;
    return fns.length > 0 ? `${head}; ${fns.join(", ")}` : head;
  }
  const width = o.width ?? 100;
  const fields = [
    count,
    ...(s.failed > 0 ? [`${s.failed} failed`] : []),
    `${formatRate(s.rate)}/s`,
    ...(runners !== undefined ? [runners] : []),
    formatDuration(s.elapsedMs),
  ].join(" · ");
  const label = o.label ? `${o.label} ` : "";
  const bar = formatBar(settled, total, o.barWidth ?? 20);
  let head = `${label}${bar} ${fields}`;
  if (head.length > width - 1) head = `${label}${fields}`; // a narrow terminal: the counts matter more than the bar
  // Per-function counts take what room is left, if that is enough to say something.
  const room = width - 1 - head.length - 3;
  return fns.length > 0 && room >= 8 ? `${head} · ${fit(fns.join(", "), room)}` : fit(head, width - 1);
}

/** Cut to `max` characters, marking the cut with an ellipsis. */
function fit(text: string, max: number): string {
  if (text.length <= max) return text;
  return max <= 1 ? text.slice(0, Math.max(0, max)) : `${text.slice(0, max - 1)}…`;
}
