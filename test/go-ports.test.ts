import { describe, expect, it } from "vitest";
import type { Chan, Cluster } from "../src/index.ts";
import { useCluster } from "./use-cluster.ts";

type Sieve = typeof import("./fixtures/go-sieve.ts");
type Powser = typeof import("./fixtures/go-powser.ts");

// Go programs whose goroutines start goroutines, run with go() on the runners: the prime
// sieve (each prime starts a filter) and the power series (each operation starts goroutines,
// Mul starts the next Mul). Until runners make channels themselves (chan()), the driver
// hands out fresh channels over a channel of channels.

/** Fresh channels of `capacity`, one per receive, until `stop`. */
function channelsOf<T>(cluster: Cluster, capacity = 0): { chans: Chan<Chan<T>>; stop: () => Promise<void> } {
  const chans = cluster.chan<Chan<T>>();
  const served = (async () => {
    try {
      for (;;) await chans.send(cluster.chan<T>(capacity));
    } catch (err) {
      if ((err as Error).name !== "ChannelClosedError") throw err;
    }
  })();
  return { chans, stop: async () => { await chans.close(); await served; } };
}

/** Counts the cluster's calls from now on: `idle()` resolves with how many were made once every one has settled. */
function callsFromNow(cluster: Cluster): { idle: () => Promise<number> } {
  let made = 0;
  let done = 0;
  let wake: (() => void) | undefined;
  const stop = cluster.observe({
    submitted: () => void made++,
    sent: () => {},
    settled: () => {
      if (++done === made) wake?.();
    },
  });
  return {
    idle: async () => {
      if (done !== made) await new Promise<void>((resolve) => (wake = resolve));
      stop();
      return made;
    },
  };
}

function firstPrimes(n: number): number[] {
  const out: number[] = [];
  for (let i = 2; out.length < n; i++) if (out.every((p) => i % p !== 0)) out.push(i);
  return out;
}

describe("Go programs whose goroutines start goroutines", () => {
  const t = useCluster<{ sieve: Sieve; powser: Powser }>({ runners: 2, threads: 2 }, { sieve: "go-sieve.ts", powser: "go-powser.ts" });

  it("the prime sieve: each prime found on a runner starts the next filter there", async () => {
    const n = 100; // 1,000 once channels are made on the runners: through the driver, each value costs a round trip
    const fresh = channelsOf<number>(t.cluster);
    const primes = t.cluster.chan<number>();
    const calls = callsFromNow(t.cluster);
    t.sieve.sieve.go(primes, n, fresh.chans);
    const got: number[] = [];
    for await (const p of primes) got.push(p);
    expect(got).toEqual(firstPrimes(n));
    // The pipeline shut down from its end: the sieve, the generator and a filter per prime, all returned.
    expect(await calls.idle()).toBe(n + 2);
    await fresh.stop();
    expect(t.cluster.stats.failed).toBe(0);
  }, 90_000); // ~6,000 values through the driver: 15 s on a loaded 2-core machine

  it("the power series: sums, derivatives, integrals and the recursive product, exact", async () => {
    const plain = channelsOf<unknown>(t.cluster);
    const wide = channelsOf<unknown>(t.cluster, 64);
    const quit = t.cluster.chan<never>();
    const calls = callsFromNow(t.cluster);
    const got = await t.powser.powser(6, { plain: plain.chans, wide: wide.chans } as never, quit);
    expect(got).toEqual({
      ones: ["1", "1", "1", "1", "1", "1"],
      addOnesOnes: ["2", "2", "2", "2", "2", "2"],
      diffOnes: ["1", "2", "3", "4", "5", "6"],
      integOnes: ["0", "1", "1/2", "1/3", "1/4", "1/5"],
      mulOnesOnes: ["1", "2", "3", "4", "5", "6"],
    });
    await quit.close();
    expect(await calls.idle()).toBeGreaterThan(30); // quit ended every goroutine the operations started
    expect(t.cluster.stats.failed).toBe(0);
    await plain.stop();
    await wide.stop();
  });
});
