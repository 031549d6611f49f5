// Load: a million tiny calls (`add(i, 1)`, a few bytes each way) through 2 local runners,
// at most 10,000 in flight, every result checked. Reports throughput, each call's latency
// (from the call to its result, so mostly time queued behind the others in flight), the
// driver's and each runner's peak resident memory, and the wrong results (which must be 0:
// the script exits 1 otherwise). `--quick`: 100,000 calls.
import { readFileSync } from "node:fs";
import { local } from "../src/index.ts";
import { footer, num, percentile, progress, quick, table } from "./common.ts";

const N = quick ? 100_000 : 1_000_000;
const IN_FLIGHT = 10_000;

/** A field of /proc/<pid>/status in bytes (VmHWM: peak resident memory), or NaN off Linux. */
function procStatusBytes(pid: number, field: "VmHWM" | "VmRSS"): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? Number.NaN : Number(m[1]) * 1024;
  } catch {
    return Number.NaN;
  }
}

const mb = (bytes: number): string => num(bytes / 2 ** 20, 0);

async function main(): Promise<number> {
  await using cluster = await local({ runners: 2 });
  const m = await cluster.import<typeof import("./fixtures/noop.ts")>(new URL("./fixtures/noop.ts", import.meta.url));
  const pids = cluster.runners.map((r) => r.pid);
  for (let i = 0; i < 1000; i++) await m.add(i, 1); // warm-up: code shipped, lanes open
  const runnersAtStart = pids.map((p) => procStatusBytes(p, "VmRSS"));
  const driverAtStart = process.memoryUsage.rss();

  // The driver's resident memory, sampled (resourceUsage().maxRSS covers the whole process
  // life; the samples say what the load added).
  let driverPeak = driverAtStart;
  const sampler = setInterval(() => (driverPeak = Math.max(driverPeak, process.memoryUsage.rss())), 50);

  let wrong = 0;
  const latencyMs = new Float64Array(N);
  const failures = new Map<string, number>();
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  // IN_FLIGHT loops, each with one call outstanding: a new call leaves as each one settles.
  const loop = async (): Promise<void> => {
    while (next < N) {
      const i = next++;
      const start = performance.now();
      try {
        if ((await m.add(i, 1)) !== i + 1) wrong++;
      } catch (err) {
        const name = (err as Error).name;
        failures.set(name, (failures.get(name) ?? 0) + 1);
      }
      latencyMs[i] = performance.now() - start;
      if (++done % 100_000 === 0) progress(`load: ${num(done)} calls, ${num(done / ((performance.now() - t0) / 1000))} calls/s`);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, loop));
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  driverPeak = Math.max(driverPeak, process.memoryUsage.rss());
  const stats = await cluster.runnerStats();
  const failed = [...failures.values()].reduce((a, b) => a + b, 0);
  latencyMs.sort();

  console.log(`## Load: ${num(N)} tiny calls through 2 runners\n`);
  console.log(table(
    ["calls", "in flight (max)", "seconds", "calls/s", "latency p50 / p99 / max (ms)", "wrong results", "failed calls", "driver RSS: start → peak (MiB)", ...pids.map((_, i) => `runner ${i + 1} RSS: start → peak (MiB)`)],
    [[
      num(N), num(IN_FLIGHT), num(seconds, 1), num(N / seconds),
      [50, 99, 100].map((p) => num(percentile(latencyMs, p), 1)).join(" / "), num(wrong), failed === 0 ? "0" : [...failures].map(([k, v]) => `${k} ${num(v)}`).join(", "),
      `${mb(driverAtStart)} → ${mb(driverPeak)}`,
      ...pids.map((p, i) => `${mb(runnersAtStart[i]!)} → ${mb(procStatusBytes(p, "VmHWM"))}`),
    ]],
  ));
  console.log();
  console.log(footer([
    `\`add(i, 1)\` on \`local({ runners: 2 })\` (${cluster.runners.map((r) => r.threads).join(" and ")} thread(s)); every result compared with i + 1. ${IN_FLIGHT.toLocaleString("en-US")} loops each keep one call outstanding.`,
    `Calls per runner (runner stats, warm-up included): ${stats.map((s) => num(s.calls)).join(", ")}.`,
    `Driver RSS: \`process.memoryUsage.rss()\` after the warm-up and its peak, sampled every 50 ms (\`resourceUsage().maxRSS\` for the whole process: ${mb(process.resourceUsage().maxRSS * 1024)} MiB). Runner RSS: VmRSS after the warm-up, and VmHWM (the kernel's peak) at the end, from /proc.`,
  ]));
  console.log();
  return wrong === 0 && failed === 0 ? 0 : 1;
}

process.exitCode = await main();
