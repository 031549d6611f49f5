import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, local, type Remote } from "../src/index.ts";
import { DRIVER, RUNNER, specsOf } from "../src/protocol/metrics/catalogue.ts";
import { cleanEnv, fixture, removeDir, runCli, tempDir } from "./helpers.ts";
import { hasPromtool, listeningPorts, parse, promtoolCheck, scrape, total, types } from "./metrics-helpers.ts";

type M = typeof import("./fixtures/metrics-job.ts");
type Crash = typeof import("./fixtures/crash.ts");

const METRICS = /^metrics on (127\.0\.0\.1:(\d+))$/;
const LISTENING = /^listening on (127\.0\.0\.1:(\d+))$/;
const inCI = process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false";

describe("metrics", () => {
  let cluster: Cluster;
  let m: Remote<M>;
  const PAYLOAD = 300_000;

  beforeAll(async () => {
    cluster = await local({ runners: 2, threads: 1, metrics: true });
    m = await cluster.import<M>(fixture("metrics-job.ts"));
    await Promise.all(Array.from({ length: 50 }, (_, i) => m.add(i, 1)));
    const failures = await Promise.allSettled(Array.from({ length: 3 }, (_, i) => m.fail(`no ${i}`)));
    expect(failures.every((f) => f.status === "rejected")).toBe(true);
    expect(await m.size(new Uint8Array(PAYLOAD))).toBe(PAYLOAD);
  });
  afterAll(() => cluster?.close());

  it("are served by the driver and every runner, on loopback", () => {
    const e = cluster.metricsEndpoints;
    expect(e.driver).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(e.runners).toHaveLength(2);
    for (const a of e.runners) expect(a).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it("count the job's calls by function and error code, on the driver and summed over the runners", async () => {
    const driver = parse(await scrape(cluster.metricsEndpoints.driver!));
    expect(total(driver, "strand_driver_calls_started_total", { function: "add" })).toBe(50);
    expect(total(driver, "strand_driver_calls_finished_total", { function: "add" })).toBe(50);
    expect(total(driver, "strand_driver_calls_failed_total", { function: "add" })).toBe(0);
    expect(total(driver, "strand_driver_calls_failed_total", { function: "fail", code: "ERR_STRAND_REMOTE" })).toBe(3);
    expect(total(driver, "strand_driver_call_duration_seconds_count", { function: "add" })).toBe(50);
    expect(total(driver, "strand_driver_call_duration_seconds_bucket", { function: "add", le: "+Inf" })).toBe(50);
    expect(total(driver, "strand_driver_call_queue_wait_seconds_count")).toBe(54);
    expect(total(driver, "strand_driver_calls_in_flight")).toBe(0);
    expect(total(driver, "strand_driver_runners", { state: "alive" })).toBe(2);
    expect(total(driver, "strand_driver_bytes_sent_total")).toBeGreaterThan(PAYLOAD);

    const runners = (await Promise.all(cluster.metricsEndpoints.runners.map((a) => scrape(a)))).flatMap(parse);
    expect(total(runners, "strand_runner_calls_started_total", { function: "add" })).toBe(50);
    expect(total(runners, "strand_runner_calls_finished_total", { function: "add" })).toBe(50);
    expect(total(runners, "strand_runner_calls_failed_total", { function: "fail", code: "ERR_STRAND_REMOTE" })).toBe(3);
    expect(total(runners, "strand_runner_calls_failed_total", { function: "add" })).toBe(0);
    expect(total(runners, "strand_runner_call_duration_seconds_count")).toBe(54);
    expect(total(runners, "strand_runner_bytes_received_total", { peer: "driver" })).toBeGreaterThan(PAYLOAD);
    expect(total(runners, "strand_runner_bytes_sent_total", { peer: "driver" })).toBeGreaterThan(0);
    expect(total(runners, "strand_runner_sessions", { peer: "driver" })).toBe(2);
    expect(total(runners, "strand_runner_threads")).toBe(2);
    expect(total(runners, "strand_runner_batch_size_count")).toBeGreaterThan(0);
  });

  it("export every metric of the catalogue with its type, and pass promtool", async () => {
    const check = async (address: string, specs: ReturnType<typeof specsOf>): Promise<void> => {
      const text = await scrape(address);
      const t = types(text);
      for (const s of specs) expect(t.get(s.name), s.name).toBe(s.type);
      expect(t.get("process_cpu_seconds_total")).toBe("counter"); // Node's process metrics too
      for (const name of t.keys()) expect(name).toMatch(/^(strand_(driver|runner)_|process_|nodejs_)/);
      // Units and suffixes: counters end in _total, nothing else does; durations in seconds.
      for (const [name, type] of t) expect(name.endsWith("_total"), name).toBe(type === "counter");
      if (hasPromtool()) expect(promtoolCheck(text)).toBe("");
      else if (inCI) throw new Error("promtool is missing in CI (.ci/run installs prometheus)");
    };
    await check(cluster.metricsEndpoints.driver!, specsOf(DRIVER));
    for (const a of cluster.metricsEndpoints.runners) await check(a, specsOf(RUNNER));
  });

  it("are read-only: other methods get 405, other paths 404, HEAD a header", async () => {
    for (const address of [cluster.metricsEndpoints.driver!, cluster.metricsEndpoints.runners[0]!]) {
      for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
        const res = await fetch(`http://${address}/metrics`, { method, body: method === "DELETE" ? null : "x" });
        expect(res.status, method).toBe(405);
        expect(res.headers.get("allow")).toBe("GET, HEAD");
        await res.text();
      }
      const other = await fetch(`http://${address}/`);
      expect(other.status).toBe(404);
      await other.text();
      const head = await fetch(`http://${address}/metrics`, { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(head.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    }
  });

  it("count SPMD jobs, their collectives and channel operations", async () => {
    const sums = await cluster.spmd(2, m.ranks);
    expect(sums).toEqual([3, 3]);
    const runnerSamples = async (): Promise<ReturnType<typeof parse>> => (await Promise.all(cluster.metricsEndpoints.runners.map((a) => scrape(a)))).flatMap(parse);
    const before = await runnerSamples(); // the job's ranks talked over channels with the driver too
    const ch = cluster.chan<number>(4);
    const done = m.produce(ch, 5);
    let got = 0;
    for await (const v of ch) got += typeof v === "number" ? 1 : 0;
    await done;
    expect(got).toBe(5);
    const driver = parse(await scrape(cluster.metricsEndpoints.driver!));
    expect(total(driver, "strand_driver_spmd_jobs_started_total")).toBe(1);
    expect(total(driver, "strand_driver_spmd_jobs_failed_total")).toBe(0);
    expect(total(driver, "strand_driver_spmd_job_duration_seconds_count")).toBe(1);
    expect(total(driver, "strand_driver_calls_finished_total", { function: "ranks" })).toBe(2);
    const runners = await runnerSamples();
    expect(total(runners, "strand_runner_collective_duration_seconds_count", { op: "allreduce" })).toBe(2);
    expect(total(runners, "strand_runner_collective_duration_seconds_count", { op: "barrier" })).toBe(2);
    const ops = (op: string): number => total(runners, "strand_runner_channel_ops_total", { op }) - total(before, "strand_runner_channel_ops_total", { op });
    expect(ops("send")).toBe(5);
    expect(ops("close")).toBe(1);
  });
});

describe("metrics endpoints", () => {
  let cacheDir: string;
  beforeAll(async () => {
    cacheDir = await tempDir();
  });
  afterAll(() => removeDir(cacheDir));

  it("are off by default: a runner opens no port for them, a cluster lists none", async () => {
    const runner = runCli(["runner", "--listen", "127.0.0.1:0", "--threads", "1", "--cache-dir", cacheDir]);
    try {
      const [, address, port] = await runner.line(LISTENING);
      await using cluster = await Cluster.create({ runners: [address!] });
      expect(cluster.metricsEndpoints).toEqual({ driver: undefined, runners: [] });
      // The main port and the thread's lane, nothing else.
      const ports = listeningPorts(runner.child.pid!);
      expect(ports).toContain(Number(port));
      expect(ports.sort()).toEqual([Number(port), ...cluster.runners[0]!.lanes].sort());
      expect(runner.lines.some((l) => METRICS.test(l))).toBe(false);
    } finally {
      runner.child.kill("SIGTERM");
    }
    await runner.exit;
  });

  it("`strand runner --metrics 0` serves them on loopback and says where before `listening on`", async () => {
    const runner = runCli(["runner", "--listen", "127.0.0.1:0", "--threads", "1", "--cache-dir", cacheDir, "--metrics", "0"]);
    try {
      const [, metrics, metricsPort] = await runner.line(METRICS);
      const [, address, port] = await runner.line(LISTENING);
      expect(runner.lines.findIndex((l) => METRICS.test(l))).toBeLessThan(runner.lines.findIndex((l) => LISTENING.test(l)));
      await using cluster = await Cluster.create({ runners: [address!] });
      const ports = listeningPorts(runner.child.pid!);
      expect(ports.sort()).toEqual([Number(port), Number(metricsPort), ...cluster.runners[0]!.lanes].sort());
      const mod = await cluster.import<M>(fixture("metrics-job.ts"));
      expect(await mod.add(1, 2)).toBe(3);
      const samples = parse(await scrape(metrics!));
      expect(total(samples, "strand_runner_calls_finished_total", { function: "add" })).toBe(1);
    } finally {
      runner.child.kill("SIGTERM");
    }
    expect(await runner.exit).toBe(0);
  });

  it("with STRAND_METRICS_TOKEN want it as a bearer; the cluster's token is refused as one", async () => {
    const runner = runCli(["runner", "--listen", "127.0.0.1:0", "--threads", "1", "--cache-dir", cacheDir, "--metrics", "127.0.0.1:0"],
      cleanEnv({ STRAND_METRICS_TOKEN: "scrape-me", STRAND_TOKEN: "runs-code" }));
    try {
      const [, metrics] = await runner.line(METRICS);
      const bare = await fetch(`http://${metrics}/metrics`);
      expect(bare.status).toBe(401);
      await bare.text();
      const wrong = await fetch(`http://${metrics}/metrics`, { headers: { authorization: "Bearer runs-code" } });
      expect(wrong.status).toBe(401);
      await wrong.text();
      expect(await scrape(metrics!, { headers: { authorization: "Bearer scrape-me" } })).toContain("strand_runner_threads 1");
    } finally {
      runner.child.kill("SIGTERM");
    }
    await runner.exit;
    const same = runCli(["runner", "--listen", "127.0.0.1:0", "--threads", "1", "--cache-dir", cacheDir, "--metrics", "0"],
      cleanEnv({ STRAND_METRICS_TOKEN: "same", STRAND_TOKEN: "same" }));
    expect(await same.exit).not.toBe(0);
    expect(same.stderr()).toMatch(/cluster's token/);
    expect(same.stderr()).not.toMatch(/same/);
  });

  it("`strand run --metrics 0` gives the script's driver an endpoint (STRAND_METRICS), and with --local the runners too", async () => {
    const run = runCli(["run", "--local", "1", "--metrics", "0", fixture("metrics-driver.ts").pathname]);
    expect(await run.exit).toBe(0);
    expect(run.stdout()).toMatch(/^driver 127\.0\.0\.1:\d+ add 1$/m);
    expect(run.stderr()).toMatch(/^strand: runner 127\.0\.0\.1:\d+ serves metrics on 127\.0\.0\.1:\d+$/m);
  });

  it("keep a dead thread's counts: totals never go down when a thread is replaced", async () => {
    await using c = await local({ runners: 1, threads: 1, metrics: true });
    const crash = await c.import<Crash>(fixture("crash.ts"));
    for (let i = 0; i < 5; i++) expect(await crash.add(i, 1)).toBe(i + 1);
    const address = c.metricsEndpoints.runners[0]!;
    expect(total(parse(await scrape(address)), "strand_runner_calls_finished_total", { function: "add" })).toBe(5);
    await expect(crash.exitThread()).rejects.toThrow(/died|exit/i);
    for (let i = 0; i < 3; i++) expect(await crash.add(i, 1)).toBe(i + 1);
    const after = parse(await scrape(address));
    expect(total(after, "strand_runner_calls_finished_total", { function: "add" })).toBe(8);
    expect(total(after, "strand_runner_worker_restarts_total")).toBeGreaterThanOrEqual(1);
  });
});
