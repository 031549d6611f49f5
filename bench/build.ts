// Distributed Go builds (`strand go build`): `go build -a std` and a net/http program, built
// by Go itself (`go build -a -p 2 -trimpath`, an empty GOCACHE of its own) against Strand on 2
// local runners × 1 thread (same 2 cores): as inputs become ready, in DistGo's level barriers,
// and again on the same cluster (every action from the action cache). Each Strand build
// starts with runners whose file and action caches are empty (a fresh --cache-dir), and every
// Strand binary is checked against Go's: identical but for the build ID. Bytes moved: what
// Strand's runners fetched and were sent, against DistGo's approach (the build folder synced
// to every worker before each level) computed from the same plan and the same output sizes.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { local } from "../src/index.ts";
import { readBuildId, zeroBuildId } from "../src/driver/builds/go/build-id.ts";
import { planningEnv } from "../src/driver/builds/go/go-env.ts";
import { goBuildOnCluster, type GoBuildOutcome } from "../src/driver/builds/go/go-build.ts";
import { planGoBuild, type GoBuildRequest, type GoPlan } from "../src/driver/builds/go/plan.ts";
import { PlanCache } from "../src/driver/builds/go/plan-cache.ts";
import { distgoBytes, strandBytes, totalBytes, type Sizes } from "../src/driver/builds/go/transfer-model.ts";
import { footer, median, num, progress, quick, ratio, reps, spread, table } from "./common.ts";

const run = promisify(execFile);
const RUNNERS = 2;
const THREADS = 1;
// BENCH_BUILD_REPS: fewer (or more) reps; a std build is minutes on a busy 2-core machine.
const REPS = Number(process.env.BENCH_BUILD_REPS) || reps(3, 1);

interface Target {
  name: string;
  dir: string;
  packages: string[];
  /** The binary go build writes, if any. */
  binary: boolean;
}

const fixture = (name: string): string => new URL(`../test/fixtures/go/${name}`, import.meta.url).pathname;
const TARGETS: Target[] = [
  { name: "net/http program", dir: fixture("httpd"), packages: ["."], binary: true },
  ...(quick ? [] : [{ name: "go build -a std", dir: fixture("httpd"), packages: ["std"], binary: false }]),
];

const scratch = mkdtempSync(join(tmpdir(), "strand-bench-build-"));
const planCache = new PlanCache(join(scratch, "go-plans"));
const planRequest = (t: Target): GoBuildRequest => ({ dir: t.dir, packages: t.packages, ...(t.binary ? { output: join(scratch, "strand.bin") } : {}) });

async function goLocal(t: Target, out: string): Promise<number> {
  const cache = mkdtempSync(join(scratch, "gocache-"));
  try {
    const t0 = performance.now();
    await run("go", ["build", "-a", "-p=2", "-trimpath", ...(t.binary ? ["-o", out] : []), ...t.packages], { cwd: t.dir, env: planningEnv({ GOCACHE: cache }), maxBuffer: 64 << 20 });
    return performance.now() - t0;
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

/** One Strand build on fresh runners (empty caches); with `again`, a second build on the same cluster. */
async function strand(t: Target, plan: GoPlan, planMs: number, barriers: boolean, again: boolean): Promise<{ first: GoBuildOutcome; firstMs: number; secondMs?: number; second?: GoBuildOutcome }> {
  const cacheDir = mkdtempSync(join(scratch, "runners-"));
  const cluster = await local({ runners: RUNNERS, threads: THREADS, cacheDir });
  try {
    const request = planRequest(t);
    let t0 = performance.now();
    // The plan is made once per target (it is the same each time); its time is in `phases.planMs` of an unplanned build.
    const first = await goBuildOnCluster(cluster, request, { plan, barriers });
    const firstMs = performance.now() - t0 + planMs;
    if (!first.result.ok) throw new Error(`strand go build of ${t.name} failed: ${Object.values(first.result.failed)[0]?.message}`);
    if (!again) return { first, firstMs };
    // A rebuild as the CLI makes it: the plan from the plan cache (nothing changed), then every action from the action cache.
    t0 = performance.now();
    const second = await goBuildOnCluster(cluster, planRequest(t), { planCache });
    if (!second.plan.fromCache) notes.push(`${t.name}: the rebuild ran go build -n`);
    return { first, firstMs, second, secondMs: performance.now() - t0 };
  } finally {
    await cluster.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

async function sameAsGo(ours: string, theirs: string): Promise<boolean> {
  const a = zeroBuildId(readFileSync(ours), await readBuildId(ours));
  const b = zeroBuildId(readFileSync(theirs), await readBuildId(theirs));
  return a.equals(b);
}

const rows: string[][] = [];
const byteRows: string[][] = [];
const notes: string[] = [];
for (const t of TARGETS) {
  progress(`${t.name}: planning`);
  const p0 = performance.now();
  const plan = await planGoBuild(planRequest(t), { cache: planCache });
  const planMs = performance.now() - p0;
  const localMs: number[] = [], readyMs: number[] = [], barrierMs: number[] = [], cachedMs: number[] = [];
  let identical = true;
  let sample: GoBuildOutcome | undefined;
  for (let rep = 0; rep < REPS; rep++) {
    progress(`${t.name}: rep ${rep + 1}/${REPS}: go build -p 2`);
    localMs.push(await goLocal(t, join(scratch, "go.bin")));
    progress(`${t.name}: rep ${rep + 1}/${REPS}: strand, as ready (then cached)`);
    const r = await strand(t, plan, planMs, false, true);
    readyMs.push(r.firstMs);
    cachedMs.push(r.secondMs!);
    sample ??= r.first;
    if (r.second!.result.counts.ran !== 0) notes.push(`${t.name}: the rebuild ran ${r.second!.result.counts.ran} actions`);
    if (t.binary) identical &&= await sameAsGo(join(scratch, "strand.bin"), join(scratch, "go.bin"));
    progress(`${t.name}: rep ${rep + 1}/${REPS}: strand, level barriers`);
    barrierMs.push((await strand(t, plan, planMs, true, false)).firstMs);
  }
  const lm = median(localMs);
  rows.push([
    t.name, `${plan.graph.actions.length}`, `${num(lm / 1000, 1)} s (${spread(localMs.map((x) => x / 1000), 1)})`,
    `${num(median(readyMs) / 1000, 1)} s (${spread(readyMs.map((x) => x / 1000), 1)})`, ratio(median(readyMs) / lm),
    `${num(median(barrierMs) / 1000, 1)} s (${spread(barrierMs.map((x) => x / 1000), 1)})`, ratio(median(barrierMs) / median(readyMs)),
    `${num(median(cachedMs) / 1000, 2)} s`, t.binary ? (identical ? "yes" : "NO") : "-",
  ]);
  // Bytes: measured (Strand), and both ways from the plan with the sizes this build made.
  const s = sample!;
  const sizes: Sizes = { output: (action, output) => s.result.actions[action]?.outputs[output]?.size ?? 0 };
  const placement = new Map(Object.entries(s.result.actions).map(([id, o]) => [id, o.runner]));
  const binary = plan.binary === undefined ? undefined : { action: plan.binary.action, output: plan.binary.output };
  const model = strandBytes(plan.graph, plan.env.GOROOT, sizes, placement, binary);
  const measured = s.phases.bytesUploaded + s.phases.bytesBetweenRunners + s.phases.bytesBinary;
  for (const w of [2, 3]) {
    const d = distgoBytes(plan.graph, plan.env.GOROOT, sizes, w, binary);
    byteRows.push([t.name, `${w}`, mb(totalBytes(d)), mb(d.packages), mb(d["module sources"] + d.generated)]);
  }
  byteRows.push([t.name, "Strand, 2 runners (measured)", mb(measured), mb(s.phases.bytesBetweenRunners), mb(s.phases.bytesUploaded)]);
  byteRows.push([t.name, "Strand, 2 runners (from the plan)", mb(totalBytes(model)), mb(model.packages), mb(model["goroot sources"] + model["module sources"] + model.generated)]);
}

function mb(b: number): string {
  return `${num(b / 1e6, 1)} MB`;
}

rmSync(scratch, { recursive: true, force: true });
console.log(`## Distributed Go builds (\`strand go build\`)\n`);
console.log(table(["build", "actions", "go build -a -p 2", `Strand ${RUNNERS}×${THREADS}, as ready`, "Strand / go", "Strand, level barriers", "barriers / as ready", "rebuild (all cached)", "binary = go's (but build ID)"], rows));
console.log();
console.log(table(["build", "DistGo workers / Strand", "bytes moved", "packages (.a, .o)", "sources and generated files"], byteRows));
console.log();
console.log(footer([
  `Medians of ${REPS} rep${REPS === 1 ? "" : "s"} (range in brackets); each Strand build on new local runners with empty file and action caches; Strand's time includes planning (go build -n) and fetching the binary.`,
  "DistGo rows: the build folder rsynced to every worker after each topological level (each worker gets what the others made; module sources to every worker; workers have GOROOT), from the same plan and output sizes.",
  ...notes,
]));
