import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { local, type Cluster, type Remote } from "../src/index.ts";
import { exited, fixture, removeDir, tempDir } from "./helpers.ts";
import { hasPrometheus } from "./metrics-helpers.ts";

// A real Prometheus (Debian's `prometheus` package; .ci/run installs it) scrapes two runners
// and a driver every second; the test runs a job and asks Prometheus's HTTP API for the
// counts, polling until a scrape has brought them (with a deadline, no fixed sleeps).

type M = typeof import("./fixtures/metrics-job.ts");
type Actors = typeof import("./fixtures/actor-observe.ts");

const inCI = process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false";
const installed = hasPrometheus();
if (!installed && !inCI) {
  process.stderr.write("test/metrics-prometheus.test.ts: skipped: prometheus is not installed (apt-get install prometheus); CI installs it\n");
}

/** A free port on 127.0.0.1 (closed again before Prometheus binds it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `probe` until it returns a value `ok` accepts, or fails after `ms` with the last one seen. */
async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = performance.now() + ms;
  let last: T | undefined;
  let error: unknown;
  while (performance.now() < deadline) {
    try {
      last = await probe();
      if (ok(last)) return last;
    } catch (err) {
      error = err;
    }
    await new Promise((r) => setTimeout(r, 100)); // between polls of Prometheus, not a wait for the answer
  }
  throw new Error(`${what}: not there after ${ms} ms (last: ${JSON.stringify(last)}${error ? `, error: ${String(error)}` : ""})`);
}

describe.skipIf(!installed && !inCI)("metrics scraped by a real Prometheus", () => {
  let dir: string;
  let prometheus: ChildProcess | undefined;
  let api: string;
  let cluster: Cluster;
  let m: Remote<M>;
  let log = "";
  const PAYLOAD = 250_000;

  /** The value of an instant query that must return one sample (or none: undefined). */
  const query = async (q: string): Promise<number | undefined> => {
    const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as { status: string; data: { result: { value: [number, string] }[] } };
    if (body.status !== "success") throw new Error(`query ${q}: ${JSON.stringify(body)}`);
    const r = body.data.result;
    if (r.length > 1) throw new Error(`query ${q}: ${r.length} samples`);
    return r.length === 0 ? undefined : Number(r[0]!.value[1]);
  };

  beforeAll(async () => {
    if (!installed) throw new Error("prometheus is not installed, and CI must run this test: .ci/run installs it (apt-get install prometheus)");
    cluster = await local({ runners: 2, threads: 1, metrics: true });
    m = await cluster.import<M>(fixture("metrics-job.ts"));
    const { driver, runners } = cluster.metricsEndpoints;
    dir = await tempDir("strand-prometheus-");
    const config = [
      "global:",
      "  scrape_interval: 1s",
      "  scrape_timeout: 1s",
      "scrape_configs:",
      "  - job_name: strand-runner",
      `    static_configs: [{ targets: [${runners.map((r) => `"${r}"`).join(", ")}] }]`,
      "  - job_name: strand-driver",
      `    static_configs: [{ targets: ["${driver}"] }]`,
      "",
    ].join("\n");
    await writeFile(path.join(dir, "prometheus.yml"), config);
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      api = `http://127.0.0.1:${port}`;
      const p = spawn("prometheus", [
        `--config.file=${path.join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn",
      ], { stdio: ["ignore", "ignore", "pipe"] });
      prometheus = p;
      p.stderr!.setEncoding("utf8").on("data", (d: string) => (log += d));
      const gone = exited(p).then((code) => `exited (${code})`);
      const ready = until("Prometheus ready", async () => (await fetch(`${api}/-/ready`)).status, (s) => s === 200, 20_000).then(() => "ready");
      const how = await Promise.race([ready, gone]).catch((err: Error) => err.message);
      if (how === "ready") break;
      if (attempt === 3 || !log.includes("address already in use")) throw new Error(`prometheus did not start: ${how}\n${log}`);
      log = "";
    }
  }, 60_000);

  afterAll(async () => {
    if (prometheus !== undefined && prometheus.exitCode === null) {
      prometheus.kill("SIGTERM");
      await exited(prometheus);
    }
    await cluster?.close();
    if (dir !== undefined) await removeDir(dir);
  });

  it("has the job's call counts and bytes, from the driver and both runners", async () => {
    // Every target is scraped and up before the job starts: the counts start from zero.
    await until("all three targets up", () => query("sum(up)"), (v) => v === 3);
    await Promise.all(Array.from({ length: 50 }, (_, i) => m.add(i, i)));
    await Promise.allSettled(Array.from({ length: 3 }, () => m.fail("on purpose")));
    expect(await m.size(new Uint8Array(PAYLOAD))).toBe(PAYLOAD);

    await until("runner calls of add", () => query('sum(strand_runner_calls_finished_total{function="add"})'), (v) => v === 50);
    await until("runner failures", () => query('sum(strand_runner_calls_failed_total{function="fail",code="ERR_STRAND_REMOTE"})'), (v) => v === 3);
    await until("driver calls of add", () => query('strand_driver_calls_finished_total{function="add"}'), (v) => v === 50);
    await until("driver failures", () => query('strand_driver_calls_failed_total{function="fail",code="ERR_STRAND_REMOTE"}'), (v) => v === 3);
    await until("driver durations", () => query('strand_driver_call_duration_seconds_count{function="add"}'), (v) => v === 50);
    await until("bytes the runners received from the driver", () => query('sum(strand_runner_bytes_received_total{peer="driver"})'), (v) => v !== undefined && v > PAYLOAD);
    await until("bytes the driver sent", () => query("strand_driver_bytes_sent_total"), (v) => v !== undefined && v > PAYLOAD);
    // Two runners, each scraped as its own instance of one job.
    expect(await query('count(strand_runner_threads{job="strand-runner"})')).toBe(2);
    // Quantiles come out of the buckets (over totals here: a series born at 50 has no rate yet).
    const p99 = await query('histogram_quantile(0.99, sum by (le) (strand_driver_call_duration_seconds_bucket{function="add"}))');
    expect(p99).toBeGreaterThan(0);
    expect(p99).toBeLessThan(30);
  }, 90_000);

  it("has an actor's mailbox as it fills and drains, its calls as Class.method, and the driver's actors by state", async () => {
    const a = await cluster.import<Actors>(fixture("actor-observe.ts"));
    const turnstile = await a.Turnstile.spawn();
    const gate = cluster.chan<number>();
    const passes = [1, 2, 3].map(() => turnstile.pass(gate)); // one runs, waiting on the gate; two wait behind it
    for (const p of passes) p.catch(() => {}); // awaited below; a failure before that is the test's, not an unhandled one
    await until("the actor on its runner", () => query('sum(strand_runner_actors{class="Turnstile"})'), (v) => v === 1);
    await until("calls in its mailbox", () => query('sum(strand_runner_actor_mailbox_depth{class="Turnstile"})'), (v) => v === 2);
    await until("its call running", () => query('sum(strand_runner_actor_calls_running{class="Turnstile"})'), (v) => v === 1);
    await until("the driver's actors", () => query('strand_driver_actors{state="alive"}'), (v) => v === 1);
    for (const v of [1, 2, 3]) await gate.send(v);
    expect(await Promise.all(passes)).toEqual([1, 2, 3]);
    await until("the mailbox drained", () => query('sum(strand_runner_actor_mailbox_depth{class="Turnstile"})'), (v) => v === 0);
    await until("runner calls of Turnstile.pass", () => query('sum(strand_runner_calls_finished_total{function="Turnstile.pass"})'), (v) => v === 3);
    await until("driver calls of Turnstile.pass", () => query('strand_driver_calls_finished_total{function="Turnstile.pass"}'), (v) => v === 3);
    await turnstile.kill();
    await until("the actor gone", () => query('sum(strand_runner_actors{class="Turnstile"})'), (v) => v === 0);
    expect(await query("strand_driver_actor_restarts_total")).toBe(0);
  }, 90_000);
});
