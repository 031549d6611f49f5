import type { GoPlan } from "./plan.ts";
import type { ExecTimings } from "../exec.ts";
import { levels } from "./transfer-model.ts";

// Where a distributed go build's time went, in the phases DistGo reports (plan, dispatch,
// transfer, run, link, idle per runner), so the two read side by side.

/** What a build knows of one action once it is done. */
export interface ActionRecord extends ExecTimings {
  runner: string;
  cached: boolean;
  /** ms since the build started: when it was sent, when its result came back. */
  sentAt: number;
  doneAt: number;
  bytesUploaded: number;
  bytesFetched: number;
}

export interface BuildPhases {
  actions: number;
  cached: number;
  levels: number;
  runners: string[];
  /** ms */
  planMs: number;
  planFromCache: boolean;
  dispatchMs: number;
  transferMs: number;
  runMs: number;
  linkMs: number;
  /** ms the binary took to reach the driver. */
  fetchBinaryMs: number;
  wallMs: number;
  /** Per runner: ms between the build's first send and last answer when it ran nothing (per thread). */
  idleMs: Record<string, number>;
  /** Actions sent queued ahead (their runner's threads all taken), and their ms waiting there, sandbox ready, for a thread. */
  ahead: number;
  aheadWaitMs: number;
  /**
   * Per runner: between one command's exit and the next one's start (runner clock), when none
   * ran there, in ms: the median, and the sum of those under a second (the cost between
   * commands, not a wait for inputs still being made).
   */
  gapsMs: Record<string, { median: number; shortTotal: number; count: number }>;
  bytesUploaded: number;
  bytesBetweenRunners: number;
  bytesBinary: number;
}

export function buildPhases(plan: GoPlan, records: Map<string, ActionRecord>, t: { planMs: number; wallMs: number; fetchBinaryMs: number; bytesBinary: number; threads: (runner: string) => number }): BuildPhases {
  const runners = [...new Set([...records.values()].map((r) => r.runner))].sort();
  const busy = new Map<string, number>(runners.map((r) => [r, 0]));
  let dispatchMs = 0, transferMs = 0, runMs = 0, linkMs = 0, cached = 0, up = 0, between = 0, ahead = 0, aheadWaitMs = 0;
  let first = Infinity, last = 0;
  for (const [id, r] of records) {
    if (r.cached) cached++;
    // What is left of the action's time on the driver once the runner's phases and the wait
    // for a thread are taken out: sending it and hearing back (DistGo's Redis queueing).
    if (!r.cached) dispatchMs += Math.max(0, r.totalMs - r.queueMs - r.uploadMs - r.fetchMs - r.setupMs - r.waitMs - r.runMs - r.storeMs);
    transferMs += r.uploadMs + r.fetchMs;
    if (plan.steps[id]?.kind === "link") linkMs += r.runMs;
    else runMs += r.runMs;
    if (r.ahead) ahead++;
    aheadWaitMs += r.waitMs;
    // An action that waited for its thread fetched and set up while the command before it ran: not the thread's time.
    busy.set(r.runner, busy.get(r.runner)! + (r.waitMs > 0 ? 0 : r.fetchMs + r.setupMs) + r.runMs + r.storeMs);
    up += r.bytesUploaded;
    between += r.bytesFetched;
    first = Math.min(first, r.sentAt);
    last = Math.max(last, r.doneAt);
  }
  const span = records.size === 0 ? 0 : last - first;
  const gapsMs: BuildPhases["gapsMs"] = {};
  for (const runner of runners) {
    const ran = [...records.values()].filter((r) => r.runner === runner && !r.cached && r.startedAt > 0).sort((a, b) => a.startedAt - b.startedAt);
    const gaps: number[] = [];
    let end = ran[0]?.endedAt ?? 0;
    for (const r of ran.slice(1)) {
      if (r.startedAt > end) gaps.push(r.startedAt - end);
      end = Math.max(end, r.endedAt);
    }
    gaps.sort((a, b) => a - b);
    gapsMs[runner] = { median: gaps[Math.floor(gaps.length / 2)] ?? 0, shortTotal: gaps.filter((g) => g < 1000).reduce((a, b) => a + b, 0), count: gaps.length };
  }
  const idleMs = Object.fromEntries(runners.map((r) => [r, Math.max(0, span - busy.get(r)! / Math.max(1, t.threads(r)))]));
  return {
    actions: plan.graph.actions.length, cached, levels: Math.max(0, ...levels(plan.graph).values()) + 1, runners,
    planMs: t.planMs, planFromCache: plan.fromCache, dispatchMs, transferMs: transferMs + t.fetchBinaryMs, runMs, linkMs, fetchBinaryMs: t.fetchBinaryMs, wallMs: t.wallMs, idleMs, ahead, aheadWaitMs, gapsMs,
    bytesUploaded: up, bytesBetweenRunners: between, bytesBinary: t.bytesBinary,
  };
}

const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const mb = (b: number): string => `${(b / 1e6).toFixed(2)} MB`;

/** The phases as the CLI prints them. */
export function formatPhases(p: BuildPhases, mode: string): string {
  const idle = Object.entries(p.idleMs).map(([r, ms]) => `${r} ${s(ms)}`).join(", ");
  return [
    `strand go build (${mode}): ${p.actions} actions in ${p.levels} levels on ${p.runners.length} runner${p.runners.length === 1 ? "" : "s"}, ${p.cached} from the action cache: ${s(p.wallMs)}`,
    `  plan      ${s(p.planMs)}  (${p.planFromCache ? "the plan cache: no source changed" : "go build -n, read into the graph"}; hashing the driver's files)`,
    `  dispatch  ${s(p.dispatchMs)}  (sending actions and hearing back, beyond the runners' own phases, summed)`,
    `  transfer  ${s(p.transferMs)}  (${mb(p.bytesUploaded)} from the driver, ${mb(p.bytesBetweenRunners)} between runners, ${mb(p.bytesBinary)} binary back)`,
    `  run       ${s(p.runMs)}  (compile, asm, pack, summed)`,
    `  link      ${s(p.linkMs)}`,
    `  idle      ${idle || "-"}`,
    `  gaps      ${Object.entries(p.gapsMs).map(([r, g]) => `${r} median ${g.median.toFixed(1)} ms of ${g.count}, ${s(g.shortTotal)} under 1 s in all`).join("; ") || "-"}  (between a runner's commands)`,
    `  ahead     ${p.ahead} actions queued ahead on busy runners, ${s(p.aheadWaitMs)} waiting there, set up, for a thread`,
  ].join("\n");
}
