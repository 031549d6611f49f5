import { relative } from "node:path";
import { CommandError } from "../../../errors.ts";
import type { FileRef } from "../file-ref.ts";
import { runGraph, type ActionEvent, type GraphCluster, type GraphResult } from "../graph-runner.ts";
import { buildPhases, type ActionRecord, type BuildPhases } from "./build-report.ts";
import { planGoBuild, type GoBuildRequest, type GoPlan } from "./plan.ts";
import type { PlanCache } from "./plan-cache.ts";

// `strand go build` on a cluster: plan with the Go toolchain, run the graph (as inputs become
// ready, or in DistGo's level barriers for comparison), fetch the binary, and account for
// the time by phase.

export interface GoBuildCluster extends GraphCluster {
  getFile(ref: FileRef, path: string): Promise<void>;
}

export interface GoBuildOptions {
  /** DistGo's level barriers instead of as-ready scheduling. */
  barriers?: boolean;
  onAction?: (event: ActionEvent) => void;
  /** A plan made before (the bench plans once and builds several times). */
  plan?: GoPlan;
  /** Where plans are kept for rebuilds of unchanged sources (see plan-cache.ts). */
  planCache?: PlanCache;
}

export interface GoBuildOutcome {
  plan: GoPlan;
  result: GraphResult;
  phases: BuildPhases;
  /** Where the binary was written, if the build made one and it succeeded. */
  binary?: string;
}

/** Plans and runs `go build` of `request` on `cluster`; a failed action leaves `result.ok` false (see goBuildError). */
export async function goBuildOnCluster(cluster: GoBuildCluster, request: GoBuildRequest, options: GoBuildOptions = {}): Promise<GoBuildOutcome> {
  const t0 = performance.now();
  // The runners get ready for commands (the exec module shipped, their caches opened) while
  // go build -n plans: measured 200-540 ms on fresh runners, otherwise before the first command.
  void cluster.warmExec?.().catch(() => {});
  const plan = options.plan ?? await planGoBuild(request, options.planCache !== undefined ? { cache: options.planCache } : {});
  const planned = performance.now();
  const sent = new Map<string, number>();
  const done = new Map<string, number>();
  const result = await runGraph(cluster, plan.graph, {
    ...(options.barriers === true ? { barriers: true } : {}),
    onAction: (e) => {
      if (e.type === "sent") sent.set(e.id, performance.now() - planned);
      if (e.type === "done") done.set(e.id, performance.now() - planned);
      options.onAction?.(e);
    },
  });
  let binary: string | undefined;
  let fetchBinaryMs = 0;
  let bytesBinary = 0;
  if (result.ok && plan.binary !== undefined) {
    const ref = result.actions[plan.binary.action]!.outputs[plan.binary.output]!;
    const f0 = performance.now();
    await cluster.getFile(ref, plan.binary.target);
    fetchBinaryMs = performance.now() - f0;
    bytesBinary = ref.size;
    binary = plan.binary.target;
  }
  const records = new Map<string, ActionRecord>();
  for (const [id, o] of Object.entries(result.actions)) {
    const t = o.timings;
    records.set(id, {
      runner: o.runner, cached: o.cached, sentAt: sent.get(id) ?? 0, doneAt: done.get(id) ?? 0,
      ...t,
      bytesUploaded: o.bytesUploaded, bytesFetched: o.bytesFetched,
    });
  }
  const threads = new Map(cluster.runners.map((r) => [r.address, "threads" in r && typeof r.threads === "number" ? r.threads : 1]));
  const phases = buildPhases(plan, records, {
    planMs: (planned - t0) + result.planMs, wallMs: performance.now() - t0, fetchBinaryMs, bytesBinary, threads: (r) => threads.get(r) ?? 1,
  });
  return { plan, result, phases, ...(binary !== undefined ? { binary } : {}) };
}

/**
 * Why a build failed, as Go would say it: the first failed action's error (a CommandError
 * for a compiler that exited non-zero), its message headed by the package (`# pkg`) and its
 * sandbox paths (mod/<importpath>/...) turned back into the files they came from.
 */
export function goBuildError(outcome: GoBuildOutcome, cwd = process.cwd()): Error | undefined {
  const { plan, result } = outcome;
  const first = plan.graph.actions.find((a) => result.failed[a.id] !== undefined);
  if (first === undefined) return result.ok ? undefined : new Error(`go build: ${result.skipped.length} actions were not run`);
  const err = result.failed[first.id]!;
  if (!(err instanceof CommandError)) return err;
  let stderr = err.stderr;
  for (const [from, at] of plan.paths.folders()) stderr = stderr.split(at + "/").join(relativeTo(cwd, from) + "/");
  const pkg = plan.steps[first.id]?.package ?? first.id;
  const e = new CommandError(err.argv, err.exitCode, `# ${pkg}\n${stderr}`, first.id);
  return e;
}

function relativeTo(cwd: string, dir: string): string {
  const r = relative(cwd, dir);
  return r === "" ? "." : r.startsWith("..") ? dir : `./${r}`;
}
