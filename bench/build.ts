// Distributed Go builds (`strand go build`): `go build -a std` and a net/http program, built
// by Go itself (`go build -a -p 2 -trimpath`, an empty GOCACHE of its own) against Strand on 2
// local runners × 1 thread (same 2 cores): as inputs become ready, in DistGo's level barriers,
// and again, every action from the action cache: by the same driver, and by a new driver
// process against the runners that built it. Each first Strand build starts with runners
// whose file and action caches are empty (a fresh --cache-dir), and every Strand binary is
// checked against Go's: identical but for the build ID. CPU time of the driver and of the
// runner processes (their own, and their commands': the compilers) is printed beside the wall
// times: it is what Strand adds per action, and it holds still when the machine is loaded.
// Bytes moved: what Strand's runners fetched and were sent, against DistGo's approach (the
// build folder synced to every worker before each level) computed from the same plan.
//
//   npm run bench -- build            both targets, 3 reps, and the net/http program on 3
//                                     network-namespace hosts if this process may make them (root)
//   npm run bench -- build --quick    the net/http program, 1 rep, no hosts
//   npx tsx bench/build.ts --hosts 3  only the 3-host run (root)
import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { connect } from "../src/index.ts";
import { startLocalRunners } from "../src/driver/local.ts";
import { readBuildId, zeroBuildId } from "../src/driver/builds/go/build-id.ts";
import { planningEnv } from "../src/driver/builds/go/go-env.ts";
import { goBuildOnCluster, type GoBuildOutcome } from "../src/driver/builds/go/go-build.ts";
import { formatPhases } from "../src/driver/builds/go/build-report.ts";
import { planGoBuild, type GoBuildRequest, type GoPlan } from "../src/driver/builds/go/plan.ts";
import { PlanCache } from "../src/driver/builds/go/plan-cache.ts";
import { distgoBytes, strandBytes, totalBytes, type Sizes } from "../src/driver/builds/go/transfer-model.ts";
import { Hosts } from "../test/hosts/hosts.ts";
import { netnsUnavailable } from "../test/hosts/support.ts";
import type { AgainReport } from "./build-again.ts";
import { footer, median, num, progress, quick, ratio, reps, spread, table } from "./common.ts";

const run = promisify(execFile);
const RUNNERS = 2;
const THREADS = 1;
// BENCH_BUILD_REPS: fewer (or more) reps; a std build is minutes on a busy 2-core machine.
const REPS = Number(process.env.BENCH_BUILD_REPS) || reps(3, 1);
const hostsArg = process.argv.indexOf("--hosts");
/** `--hosts n`: only the n-host run. */
const ONLY_HOSTS = hostsArg === -1 ? undefined : Number(process.argv[hostsArg + 1] ?? 3);
const HOSTS = ONLY_HOSTS ?? 3;

interface Target {
  name: string;
  dir: string;
  packages: string[];
  /** The binary go build writes, if any. */
  binary: boolean;
}

const fixture = (name: string): string => new URL(`../test/fixtures/go/${name}`, import.meta.url).pathname;
const HTTPD: Target = { name: "net/http program", dir: fixture("httpd"), packages: ["."], binary: true };
const TARGETS: Target[] = ONLY_HOSTS !== undefined ? [] : [
  HTTPD,
  ...(quick ? [] : [{ name: "go build -a std", dir: fixture("httpd"), packages: ["std"], binary: false }]),
];

const scratch = mkdtempSync(join(tmpdir(), "strand-bench-build-"));
const plans = join(scratch, "go-plans");
const planCache = new PlanCache(plans);
const outputOf = (_t: Target): string => join(scratch, "strand.bin");
const planRequest = (t: Target): GoBuildRequest => ({ dir: t.dir, packages: t.packages, ...(t.binary ? { output: outputOf(t) } : {}) });

/** CPU of a process in ms from /proc: its own (all threads), and its children's it has waited for (a runner's commands). */
function cpuOf(pid: number | "self"): { own: number; children: number } {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    const ms = (i: number): number => Number(f[i]) * 10; // clock ticks of 10 ms (CLK_TCK = 100)
    return { own: ms(11) + ms(12), children: ms(13) + ms(14) };
  } catch {
    return { own: 0, children: 0 };
  }
}

/**
 * A runner's CPU with its spawn helpers' (runner/exec/spawn-helper.ts): its live descendants
 * (a runner in a network namespace is its launcher's child), which start its commands and wait for them. A helper's own CPU is Strand's; the commands
 * it waited for are the commands'.
 */
function runnerCpuOf(pid: number): { own: number; children: number } {
  const total = cpuOf(pid);
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return total;
  }
  for (const t of tasks) {
    let kids: string[] = [];
    try {
      kids = readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim().split(" ").filter((k) => k !== "");
    } catch {
      continue;
    }
    for (const k of kids) {
      const c = runnerCpuOf(Number(k));
      total.own += c.own;
      total.children += c.children;
    }
  }
  return total;
}

interface Cpu {
  /** ms of CPU: the driver (this process, during the build), the runner processes summed (their own), their commands. */
  driver: number;
  runners: number;
  commands: number;
}

/** Measures `f`'s CPU on this process and on the runner processes `pids`. */
async function measured<T>(pids: readonly number[], f: () => Promise<T>): Promise<{ value: T; ms: number; cpu: Cpu }> {
  const d0 = process.cpuUsage();
  const r0 = pids.map(runnerCpuOf);
  const t0 = performance.now();
  const value = await f();
  const ms = performance.now() - t0;
  const d = process.cpuUsage(d0);
  const r1 = pids.map(runnerCpuOf);
  return {
    value, ms,
    cpu: { driver: (d.user + d.system) / 1000, runners: r1.reduce((s, r, i) => s + r.own - r0[i]!.own, 0), commands: r1.reduce((s, r, i) => s + r.children - r0[i]!.children, 0) },
  };
}

async function goLocal(t: Target, out: string): Promise<{ ms: number; cpu: number }> {
  const cache = mkdtempSync(join(scratch, "gocache-"));
  try {
    const c0 = cpuOf("self").children;
    const t0 = performance.now();
    await run("go", ["build", "-a", "-p=2", "-trimpath", ...(t.binary ? ["-o", out] : []), ...t.packages], { cwd: t.dir, env: planningEnv({ GOCACHE: cache }), maxBuffer: 64 << 20 });
    return { ms: performance.now() - t0, cpu: cpuOf("self").children - c0 };
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

/** Runners to build on: started fresh (empty caches) for each build, stopped after. */
interface RunnerSet {
  addresses: string[];
  token: string;
  pids: number[];
  stop(): Promise<void>;
}

async function localRunners(): Promise<RunnerSet> {
  // One cache folder for both, as local() and `strand go build --local` give them: runners on one host share their file cache.
  const cacheDir = mkdtempSync(join(scratch, "runners-"));
  const r = await startLocalRunners({ runners: RUNNERS, threads: THREADS, cacheDir });
  return {
    addresses: r.addresses, token: r.token, pids: r.processes.map((p) => p.pid!),
    stop: async () => {
      await r.stop();
      rmSync(cacheDir, { recursive: true, force: true });
    },
  };
}

async function hostRunners(n: number): Promise<RunnerSet> {
  const hosts = await Hosts.start({ hosts: n, threads: 1 });
  return { addresses: hosts.addresses, token: hosts.token, pids: hosts.addresses.map((_, i) => hosts.runner(i).pid), stop: () => hosts.close() };
}

interface StrandRun {
  first: GoBuildOutcome;
  firstMs: number;
  cpu: Cpu;
  /** The same driver again (everything from its memory or the runners' caches). */
  againMs?: number;
  /** A new driver process against the same runners. */
  newDriver?: AgainReport & { cpu: Cpu };
}

/** One Strand build on fresh runners; with `again`, rebuilt by the same driver and then by a new driver process. */
async function strand(t: Target, plan: GoPlan, planMs: number, runners: () => Promise<RunnerSet>, barriers: boolean, again: boolean): Promise<StrandRun> {
  const set = await runners();
  try {
    const cluster = await connect({ runners: set.addresses, token: set.token });
    let out: StrandRun;
    try {
      // The plan is made once per target (it is the same each time); its time is added.
      const m = await measured(set.pids, () => goBuildOnCluster(cluster, planRequest(t), { plan, barriers }));
      const first = m.value;
      const { ahead, overtaken } = cluster.execStats;
      if (ahead > 0) notes.add(`${t.name}, ${barriers ? "level barriers" : "as ready"}: ${ahead} actions queued ahead on busy runners; ${overtaken} times a more urgent action became ready and waited behind one of them (one command more)`);
      if (!first.result.ok) throw new Error(`strand go build of ${t.name} failed: ${Object.values(first.result.failed)[0]?.message}`);
      out = { first, firstMs: m.ms + planMs, cpu: m.cpu };
      // The first build's binary, kept apart: the rebuilds write theirs over it, and each is checked.
      if (t.binary) copyFileSync(outputOf(t), join(scratch, "strand-first.bin"));
      if (!again) return out;
      // A rebuild as the CLI makes it: the plan from the plan cache (nothing changed), then every action from the action cache.
      const t0 = performance.now();
      const second = await goBuildOnCluster(cluster, planRequest(t), { planCache });
      out.againMs = performance.now() - t0;
      if (!second.plan.fromCache) notes.add(`${t.name}: the rebuild ran go build -n`);
      if (second.result.counts.ran !== 0) notes.add(`${t.name}: the same driver's rebuild ran ${second.result.counts.ran} actions`);
    } finally {
      await cluster.close();
    }
    const m = await measured(set.pids, async () => {
      const { stdout } = await run(process.execPath, ["--import", "tsx", new URL("./build-again.ts", import.meta.url).pathname,
        set.addresses.join(","), plans, t.dir, t.binary ? outputOf(t) : "-", ...t.packages], { env: { ...process.env, STRAND_TOKEN: set.token } });
      return JSON.parse(stdout.trim().split("\n").pop()!) as AgainReport;
    });
    const r = m.value;
    // The child's CPU is its own report; this process did nothing but wait.
    out.newDriver = { ...r, cpu: { driver: r.driverCpuMs, runners: m.cpu.runners, commands: m.cpu.commands } };
    if (r.ran !== 0 || r.bytesUploaded !== 0) notes.add(`${t.name}: a new driver's rebuild ran ${r.ran} actions and sent ${r.bytesUploaded} bytes`);
    return out;
  } finally {
    await set.stop();
  }
}

/**
 * The build's makespan on `threads` threads if every action took what it took in a measured
 * build (its time on its runner, without waiting in the driver): as ready (longest path first),
 * or in level barriers. The same durations both ways, so the ratio does not move with the load
 * the way two wall times measured minutes apart do.
 */
function simulate(plan: GoPlan, duration: (id: string) => number, threads: number, barriers: boolean): number {
  const deps = new Map(plan.graph.actions.map((a) => [a.id, [...new Set(Object.values(a.inputs).flatMap((i) => ("action" in i ? [i.action] : [])))]]));
  const readers = new Map<string, string[]>();
  for (const [id, ds] of deps) for (const d of ds) readers.set(d, [...(readers.get(d) ?? []), id]);
  const height = new Map<string, number>();
  const h = (id: string): number => height.get(id) ?? (height.set(id, duration(id) + Math.max(0, ...(readers.get(id) ?? []).map(h))), height.get(id)!);
  const level = new Map<string, number>();
  const l = (id: string): number => level.get(id) ?? (level.set(id, 1 + Math.max(0, ...deps.get(id)!.map(l))), level.get(id)!);
  const ids = plan.graph.actions.map((a) => a.id);
  if (barriers) {
    let total = 0;
    for (let lv = 1; lv <= Math.max(...ids.map(l)); lv++) {
      const free = Array<number>(threads).fill(0);
      for (const id of ids.filter((x) => l(x) === lv).sort((a, b) => h(b) - h(a))) {
        const i = free.indexOf(Math.min(...free));
        free[i] = free[i]! + duration(id);
      }
      total += Math.max(...free);
    }
    return total;
  }
  const left = new Map(ids.map((id) => [id, deps.get(id)!.length]));
  const ready = ids.filter((id) => left.get(id) === 0);
  const running: { id: string; end: number }[] = [];
  let now = 0;
  while (ready.length > 0 || running.length > 0) {
    ready.sort((a, b) => h(b) - h(a));
    while (running.length < threads && ready.length > 0) {
      const id = ready.shift()!;
      running.push({ id, end: now + duration(id) });
    }
    running.sort((a, b) => a.end - b.end);
    const done = running.shift()!;
    now = done.end;
    for (const r of readers.get(done.id) ?? []) {
      left.set(r, left.get(r)! - 1);
      if (left.get(r) === 0) ready.push(r);
    }
  }
  return now;
}

/** The first build's binary and the rebuilds' (the last written) both Go's but for the build ID; a note says which differed. */
async function bothAsGo(t: Target, where: string): Promise<boolean> {
  const go = join(scratch, "go.bin");
  const first = await sameAsGo(join(scratch, "strand-first.bin"), go);
  const again = await sameAsGo(outputOf(t), go);
  if (!first || !again) {
    // Kept for a look (cmp -l, go tool buildid): the full run reported this twice and no quick run reproduced it.
    const kept = mkdtempSync(join(tmpdir(), "strand-build-mismatch-"));
    for (const f of ["go.bin", "strand-first.bin"]) copyFileSync(join(scratch, f), join(kept, f));
    copyFileSync(outputOf(t), join(kept, "strand-again.bin"));
    if (!first) notes.add(`${where}: the first build's binary differs from go's beyond the build ID (binaries kept in ${kept})`);
    if (!again) notes.add(`${where}: the rebuilt binary differs from go's beyond the build ID (binaries kept in ${kept})`);
  }
  return first && again;
}

async function sameAsGo(ours: string, theirs: string): Promise<boolean> {
  const a = zeroBuildId(readFileSync(ours), await readBuildId(ours));
  const b = zeroBuildId(readFileSync(theirs), await readBuildId(theirs));
  return a.equals(b);
}

const s1 = (ms: number): string => `${num(ms / 1000, 1)} s`;
const mb = (b: number): string => `${num(b / 1e6, 1)} MB`;
const ms0 = (ms: number): string => `${num(ms, 0)} ms`;
const sRange = (xs: number[]): string => `${s1(median(xs))} (${spread(xs.map((x) => x / 1000), 1)})`;

const rows: string[][] = [];
const cpuRows: string[][] = [];
const byteRows: string[][] = [];
const hostRows: string[][] = [];
const notes = new Set<string>();
/** The phase report (plan, dispatch, transfer, run, link, idle per runner) of each target's first build, each mode. */
const phaseReports: string[] = [];

/** A CPU row: the wall time, each process kind's CPU, and Strand's own per action. */
function cpuRow(name: string, mode: string, wallMs: number, cpu: Cpu, actions: number): string[] {
  return [name, mode, s1(wallMs), s1(cpu.driver), s1(cpu.runners), s1(cpu.commands), `${num((cpu.driver + cpu.runners) / actions, 1)} ms`];
}
const medianCpu = (cs: Cpu[]): Cpu => ({ driver: median(cs.map((c) => c.driver)), runners: median(cs.map((c) => c.runners)), commands: median(cs.map((c) => c.commands)) });

for (const t of TARGETS) {
  progress(`${t.name}: planning`);
  const p0 = performance.now();
  const plan = await planGoBuild(planRequest(t), { cache: planCache });
  const planMs = performance.now() - p0;
  const n = plan.graph.actions.length;
  const local: { ms: number; cpu: number }[] = [];
  const ready: StrandRun[] = [], barrier: StrandRun[] = [];
  let identical = true;
  for (let rep = 0; rep < REPS; rep++) {
    progress(`${t.name}: rep ${rep + 1}/${REPS}: go build -p 2`);
    local.push(await goLocal(t, join(scratch, "go.bin")));
    progress(`${t.name}: rep ${rep + 1}/${REPS}: strand, as ready (then cached: same driver, new driver)`);
    // The plan again, from the plan cache (the same unless the repository's git state changed
    // since: go stamps it into the binary, and go build just read it), so both stamp alike.
    const repPlan = await planGoBuild(planRequest(t), { cache: planCache });
    ready.push(await strand(t, repPlan, planMs, localRunners, false, true));
    if (t.binary) identical &&= await bothAsGo(t, t.name);
    progress(`${t.name}: rep ${rep + 1}/${REPS}: strand, level barriers`);
    barrier.push(await strand(t, repPlan, planMs, localRunners, true, false));
  }
  const lm = median(local.map((l) => l.ms));
  const rm = median(ready.map((r) => r.firstMs));
  const bm = median(barrier.map((r) => r.firstMs));
  const nd = ready.map((r) => r.newDriver!);
  // The same durations (the first as-ready rep's) scheduled both ways on the same threads.
  const took = (id: string): number => { const x = ready[0]!.first.result.actions[id]!.timings; return x.totalMs - x.queueMs - x.waitMs; };
  const simulated = simulate(plan, took, RUNNERS * THREADS, true) / simulate(plan, took, RUNNERS * THREADS, false);
  rows.push([
    t.name, `${n}`, sRange(local.map((l) => l.ms)), sRange(ready.map((r) => r.firstMs)), ratio(rm / lm),
    sRange(barrier.map((r) => r.firstMs)), `${ratio(bm / rm)} (same durations: ${ratio(simulated)})`,
    `${num(median(ready.map((r) => r.againMs!)) / 1000, 2)} s`,
    `${num(median(nd.map((r) => r.buildMs)) / 1000, 2)} s (+ ${ms0(median(nd.map((r) => r.connectMs)))} connecting)`,
    t.binary ? (identical ? "yes" : "NO") : "-",
  ]);
  phaseReports.push(`${t.name}:\n${formatPhases(ready[0]!.first.phases, "as ready")}\n${formatPhases(barrier[0]!.first.phases, "level barriers")}`);
  cpuRows.push([t.name, "go build -a -p 2", s1(lm), "-", "-", s1(median(local.map((l) => l.cpu))), "-"]);
  cpuRows.push(cpuRow(t.name, "Strand, as ready", rm, medianCpu(ready.map((r) => r.cpu)), n));
  cpuRows.push(cpuRow(t.name, "Strand, level barriers", bm, medianCpu(barrier.map((r) => r.cpu)), n));
  cpuRows.push(cpuRow(t.name, "Strand, rebuild by a new driver", median(nd.map((r) => r.buildMs)), medianCpu(nd.map((r) => r.cpu)), n));
  // Bytes: measured (Strand), and both ways from the plan with the sizes this build made.
  const s = ready[0]!.first;
  const sizes: Sizes = { output: (action, output) => s.result.actions[action]?.outputs[output]?.size ?? 0 };
  const placement = new Map(Object.entries(s.result.actions).map(([id, o]) => [id, o.runner]));
  const binary = plan.binary === undefined ? undefined : { action: plan.binary.action, output: plan.binary.output };
  const model = strandBytes(plan.graph, plan.env.GOROOT, sizes, placement, binary);
  const measuredBytes = s.phases.bytesUploaded + s.phases.bytesBetweenRunners + s.phases.bytesBinary;
  for (const w of [2, 3]) {
    const d = distgoBytes(plan.graph, plan.env.GOROOT, sizes, w, binary);
    byteRows.push([t.name, `DistGo, ${w} workers`, mb(totalBytes(d)), mb(d.packages), mb(d["module sources"] + d.generated)]);
  }
  byteRows.push([t.name, "Strand, 2 local runners (measured: one shared file cache)", mb(measuredBytes), mb(s.phases.bytesBetweenRunners), mb(s.phases.bytesUploaded)]);
  byteRows.push([t.name, "Strand, 2 runners on 2 hosts (from the plan and this placement)", mb(totalBytes(model)), mb(model.packages), mb(model["goroot sources"] + model["module sources"] + model.generated)]);
}

// Strand on n network-namespace hosts (a file cache each: archives really move between them), the net/http program.
const noHosts = quick && ONLY_HOSTS === undefined ? "--quick" : netnsUnavailable();
if (noHosts === undefined) {
  const t = HTTPD;
  progress(`${t.name} on ${HOSTS} network-namespace hosts: planning`);
  const p0 = performance.now();
  const plan = await planGoBuild(planRequest(t), { cache: planCache });
  const planMs = performance.now() - p0;
  const n = plan.graph.actions.length;
  progress(`${t.name} on ${HOSTS} hosts: go build -p 2 (this machine)`);
  const local = await goLocal(t, join(scratch, "go.bin"));
  progress(`${t.name} on ${HOSTS} hosts: strand, as ready (then cached)`);
  const r = await strand(t, await planGoBuild(planRequest(t), { cache: planCache }), planMs, () => hostRunners(HOSTS), false, true);
  const identical = await bothAsGo(t, `${t.name} on ${HOSTS} hosts`);
  progress(`${t.name} on ${HOSTS} hosts: strand, level barriers`);
  const b = await strand(t, plan, planMs, () => hostRunners(HOSTS), true, false);
  const binary = plan.binary === undefined ? undefined : { action: plan.binary.action, output: plan.binary.output };
  const sizes: Sizes = { output: (action, output) => r.first.result.actions[action]?.outputs[output]?.size ?? 0 };
  const d = distgoBytes(plan.graph, plan.env.GOROOT, sizes, HOSTS, binary);
  const p = r.first.phases;
  hostRows.push([
    `${t.name}, ${HOSTS} hosts × 1 thread`, s1(local.ms), s1(r.firstMs), ratio(r.firstMs / local.ms), s1(b.firstMs), ratio(b.firstMs / r.firstMs),
    `${num(r.newDriver!.buildMs / 1000, 2)} s`, mb(p.bytesUploaded + p.bytesBetweenRunners + p.bytesBinary), mb(p.bytesBetweenRunners), mb(totalBytes(d)), identical ? "yes" : "NO",
  ]);
  phaseReports.push(`${t.name}, ${HOSTS} hosts:\n${formatPhases(p, "as ready")}\n${formatPhases(b.first.phases, "level barriers")}`);
  cpuRows.push(cpuRow(`${t.name}, ${HOSTS} hosts`, "Strand, as ready", r.firstMs, r.cpu, n));
  cpuRows.push(cpuRow(`${t.name}, ${HOSTS} hosts`, "Strand, level barriers", b.firstMs, b.cpu, n));
} else {
  notes.add(`no ${HOSTS}-host run: ${noHosts}`);
}

rmSync(scratch, { recursive: true, force: true });
console.log(`## Distributed Go builds (\`strand go build\`)\n`);
if (rows.length > 0) {
  console.log(table(["build", "actions", "go build -a -p 2", `Strand ${RUNNERS}×${THREADS}, as ready`, "Strand / go", "Strand, level barriers", "barriers / as ready", "rebuild, same driver", "rebuild, new driver process", "binary = go's (but build ID)"], rows));
  console.log();
}
if (hostRows.length > 0) {
  console.log(table(["network-namespace hosts", "go build -a -p 2 (one host)", "Strand, as ready", "Strand / go", "Strand, level barriers", "barriers / as ready", "rebuild, new driver", "bytes moved", "between hosts", "DistGo (from the plan)", "binary = go's"], hostRows));
  console.log();
}
console.log(table(["build", "what ran", "wall", "driver CPU", "runner processes' CPU", "commands' CPU (compilers)", "Strand's CPU per action (driver + runners)"], cpuRows));
console.log();
if (phaseReports.length > 0) {
  console.log("Where each first build's time went (the first rep; `strand go build` prints the same):\n\n```");
  console.log(phaseReports.join("\n\n"));
  console.log("```\n");
}
if (byteRows.length > 0) {
  console.log(table(["build", "who", "bytes moved", "packages (.a, .o)", "sources and generated files"], byteRows));
  console.log();
}
console.log(footer([
  `${ONLY_HOSTS === undefined ? `Medians of ${REPS} rep${REPS === 1 ? "" : "s"} (range in brackets)` : "1 rep"}; each Strand build on new runners with empty file and action caches; Strand's time includes planning (go build -n) and fetching the binary. Hosts: 1 rep, a runner per network namespace (its own file cache: archives move between hosts), the driver in the root namespace.`,
  "barriers / as ready: measured wall times, and in brackets the two schedules computed from the same measured action durations (each action's time on its runner, from the first as-ready rep) on the same 2 threads: the load moves the first, not the second.",
  "Rebuild, new driver process: another process connects to the runners that built it and builds again (plan cache, the runners' action caches, the driver's file hashes); its build time, and the connecting apart. Neither rebuild may run an action or send a source (a note below says so if one did).",
  "CPU: process.cpuUsage of the driver during the build; /proc/<pid>/stat of each runner process and of its spawn helpers (its live children), their own (utime+stime, all threads) and their waited-for children's (cutime+cstime: the compilers); go's row: go build and its compilers. Strand's CPU per action is what Strand itself costs, which the compilers compete with on 2 cores.",
  "DistGo rows: the build folder rsynced to every worker after each topological level (each worker gets what the others made; module sources to every worker; workers have GOROOT), from the same plan and output sizes.",
  ...notes,
]));
