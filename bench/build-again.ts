// A second driver's build (bench/build.ts starts it as a new process): connects to runners
// that already built the program, builds it again through the plan cache and the runners'
// action caches, and prints what it took as one JSON line. A new process, so nothing of the
// first driver's memory helps: what a user's second `strand go build` does.
//   tsx bench/build-again.ts <runners a,b> <plan-cache dir> <package dir> <output|-> <package>...
// (the runners' token in STRAND_TOKEN)
import { connect } from "../src/index.ts";
import { goBuildOnCluster } from "../src/driver/builds/go/go-build.ts";
import { PlanCache } from "../src/driver/builds/go/plan-cache.ts";

export interface AgainReport {
  /** Connecting to the runners, then the build (plan, probe, binary), in ms. */
  connectMs: number;
  buildMs: number;
  fromPlanCache: boolean;
  ran: number;
  cached: number;
  bytesUploaded: number;
  bytesBetweenRunners: number;
  driverCpuMs: number;
}

const [runners, plans, dir, output, ...packages] = process.argv.slice(2);
const c0 = process.cpuUsage();
const t0 = performance.now();
const cluster = await connect({ runners: runners!.split(",") });
const connectMs = performance.now() - t0;
try {
  const t1 = performance.now();
  const o = await goBuildOnCluster(cluster, { dir: dir!, packages, ...(output !== "-" ? { output: output! } : {}) }, { planCache: new PlanCache(plans!) });
  const buildMs = performance.now() - t1;
  if (!o.result.ok) throw new Error(`the second build failed: ${Object.values(o.result.failed)[0]?.message}`);
  const c = process.cpuUsage(c0);
  const report: AgainReport = {
    connectMs, buildMs, fromPlanCache: o.plan.fromCache, ran: o.result.counts.ran, cached: o.result.counts.cached,
    bytesUploaded: o.phases.bytesUploaded, bytesBetweenRunners: o.phases.bytesBetweenRunners, driverCpuMs: (c.user + c.system) / 1000,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
} finally {
  await cluster.close();
}
