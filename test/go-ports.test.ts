import { describe, expect, it } from "vitest";
import type { Cluster } from "../src/index.ts";
import { useCluster } from "./use-cluster.ts";

type Powser = typeof import("./fixtures/go-powser1.ts");

// Go's power series test (go/test/chan/powser1.go) whole, on the runners: its channels made
// with chan() and its goroutines started with go() there (Mul starts the next Mul, Recip and
// Exp feed a series back into itself); the driver makes one call, main. The sieve of 1,000
// primes with runner-made channels is chan-sieve-runners.test.ts.

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

const N = 10; // Go's N: the terms checka compares
const times = (n: number, v: string): string[] => Array.from({ length: n }, () => v);
const terms = (f: (i: number) => string): string[] => Array.from({ length: N }, (_, i) => f(i));

describe("Go's power series program, goroutines starting goroutines on the runners", () => {
  const t = useCluster<{ powser: Powser }>({ runners: 2, threads: 2 }, { powser: "go-powser1.ts" });

  it("computes every series Go checks, exactly, and every goroutine ends", async () => {
    const calls = callsFromNow(t.cluster);
    const got = await t.powser.main();
    // Go's main: its check and checka, with the values it compares against.
    expect(got).toMatchObject({
      Ones: times(5, "1"),
      "Add Ones Ones": [], // Go checks 0 terms of these three
      "Add Ones Twos": [],
      Diff: terms((i) => `${i + 1}`),
      Integ: terms((i) => (i === 0 ? "0" : i === 1 ? "1" : `1/${i}`)),
      CMul: times(10, "-2"),
      "Sub Ones Twos": [],
      Mul: terms((i) => `${i + 1}`),
      Exp: ["1", "1", "3/2", "13/6", "73/24", "167/40", "4051/720", "37633/5040", "43817/4480", "4596553/362880"],
      ATan: ["0", "1", "0", "-1/3", "0", "1/5", "0", "-1/7", "0", "1/9"],
    });
    // What Go's main leaves out.
    expect(got).toMatchObject({
      Twos: times(N, "2"),
      "Add Ones Twos, N terms": times(N, "3"),
      "Sub Ones Twos, N terms": times(N, "-1"),
      MonSubst: ["1", "0", "-1", "0", "1", "0", "-1", "0", "1", "0"],
      Xmul: ["0", ...times(N - 1, "1")],
      Shift: ["5", ...times(N - 1, "1")],
      "Exp x": ["1", "1", "1/2", "1/6", "1/24", "1/120", "1/720", "1/5040", "1/40320", "1/362880"],
      "Recip 1+x": terms((i) => (i % 2 === 0 ? "1" : "-1")),
      "Recip Ones": ["1", "-1", ...times(N - 2, "0")],
      "Binom 1/2": ["1", "1/2", "-1/8", "1/16", "-5/128", "7/256", "-21/1024", "33/2048", "-429/32768", "715/65536"],
      Subst: ["1", "1", "2", "4", "8", "16", "32", "64", "128", "256"],
    });
    expect(Object.keys(got)).toHaveLength(21);
    // main closed its quit channel before returning: every goroutine it started, and every one
    // those started, returned (none failed, none is left blocked).
    const made = await calls.idle();
    expect(made).toBe(256);
    expect(t.cluster.stats.failed).toBe(0);
  }, 60_000);
});
