import { describe, expect, it } from "vitest";
import { useCluster } from "./use-cluster.ts";

type Sieve = typeof import("./fixtures/sieve-runner-chans.ts");

function firstPrimes(n: number): number[] {
  const out: number[] = [];
  for (let i = 2; out.length < n; i++) if (out.every((p) => i % p !== 0)) out.push(i);
  return out;
}

describe("Go's prime sieve with channels made on the runners (chan) and goroutines started there (go)", () => {
  const t = useCluster<{ s: Sieve }>({ runners: 2, threads: 2 }, { s: "sieve-runner-chans.ts" });

  it("finds the first 1,000 primes; the numbers between filters never pass through the driver", async () => {
    const n = 1000;
    const primes = t.cluster.chan<number>();
    const traffic = (): number => t.cluster.runners.reduce((s, r) => s + r.bytesSent + r.bytesReceived, 0);
    const before = traffic();
    const run = t.s.sieve.go(primes, n);
    const got: number[] = [];
    for await (const p of primes) got.push(p);
    expect(got).toEqual(firstPrimes(n));
    await run.result;
    // ~1,000,000 channel operations between the filters; through the driver they would be tens of megabytes.
    expect(traffic() - before).toBeLessThan(2_000_000);
    expect(t.cluster.stats.failed).toBe(0);
  }, 120_000);
});
