import { readFileSync } from "node:fs";
import os from "node:os";
import { describe, expect, it } from "vitest";
import type { Placement } from "./fixtures/spmd-shm.ts";
import { take } from "./helpers.ts";
import { useCluster } from "./use-cluster.ts";

type Shm = typeof import("./fixtures/spmd-shm.ts");

// Ranks of one runner on two threads exchange through a shared ring per pair
// (runner/spmd/local-links.ts, 4 MiB a direction); ranks are bound to CPUs of their own by
// default (runner/spmd/binding.ts).

const MiB = 1024 * 1024;
const RING = 4 * MiB;
const PIECE = 256 * 1024;

const allowedOf = (file: string): string => /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(file, "utf8"))?.[1] ?? "?";
const threadCpus = (p: Placement): string => allowedOf(`/proc/${p.pid}/task/${p.tid}/status`);
const processCpus = (pid: number): string => allowedOf(`/proc/${pid}/status`);

describe("spmd: ranks of one runner through shared memory", () => {
  const t = useCluster<{ m: Shm }>({ runners: 1, threads: 2 }, { m: "spmd-shm.ts" });
  const mixed = useCluster<{ m: Shm }>({ runners: 2, threads: 2 }, { m: "spmd-shm.ts" });

  it("messages of every size arrive intact both ways: 0 B, 8 B, around the one-write limit and the 256 KiB copy piece, the ring's size and one either side, several rings, 64 MiB", async () => {
    const sizes = [0, 8, 16_383, 16_384, 16_385, PIECE - 1, PIECE + 1, RING - 1, RING, RING + 1, 2 * RING + 3, 64 * MiB];
    const [r0] = await t.cluster.spmd({ size: 2, placement: [0, 0] }, t.m.echoSizes, sizes);
    expect(r0).toEqual(sizes.map((size) => ({ size, there: true, back: true, doubles: true })));
  });

  it("1,000 messages of mixed sizes in a row, all in flight at once (several rings' worth), arrive in order and intact, three jobs running", async () => {
    for (let job = 0; job < 3; job++) {
      const r = await t.cluster.spmd({ size: 2, placement: [0, 0] }, t.m.manyInARow, 1000);
      expect(r).toEqual([{ rank: 0, inOrder: 1000 }, { rank: 1, inOrder: 1000 }]);
    }
  }, 120_000);

  it("values a rank keeps stay intact while many more, big ones, come and go (memory freed and reused by later messages is never a kept value's)", async () => {
    const r = await t.cluster.spmd({ size: 2, placement: [0, 0] }, t.m.keptValues, 60, 40);
    expect(r).toEqual([{ rank: 0, intact: 0 }, { rank: 1, intact: 60 }]);
  }, 120_000);

  it("collectives mixing shared memory and TCP: 4 ranks on 2 runners × 2 threads", async () => {
    const n = (1 << 20) + 3;
    const r = await mixed.cluster.spmd({ size: 4, placement: [0, 0, 1, 1] }, mixed.m.mixedCollectives, n);
    for (const [rank, x] of r.entries()) {
      expect(x).toEqual({ rank, sum: [n, 0, 10, 996 * 10, ((n - 1) % 997) * 10], bcast: true, gathered: [0, 10, 20, 30], barrier: true });
    }
    // Ring for the same pair of threads, many messages: the rings are reused across jobs.
    const again = await mixed.cluster.spmd({ size: 4, placement: [0, 0, 1, 1] }, mixed.m.manyInARow, 500);
    expect(again.map((x) => x.inOrder)).toEqual([500, 500, 500, 500]);
  });
});

describe.runIf(process.platform === "linux" && os.availableParallelism() >= 2)("spmd: rank binding", () => {
  const bound = useCluster<{ m: Shm }>({ runners: 2, threads: 1 }, { m: "spmd-shm.ts" });
  const unbound = useCluster<{ m: Shm }>({ runners: 2, threads: 1, bind: "none" }, { m: "spmd-shm.ts" });

  /** Runs `placement` on 2 ranks; returns what the kernel said of each rank's thread during the job, and after it. */
  async function observe(s: typeof bound): Promise<{ during: string[]; reported: string[]; after: string[]; process: string[] }> {
    const ready = s.cluster.chan<Placement>(2);
    const go = s.cluster.chan<string>(2);
    const job = s.cluster.spmd({ size: 2, placement: [0, 1] }, s.m.placement, ready, go);
    const ps = (await take(ready, 2)).sort((a, b) => a.rank - b.rank);
    const during = ps.map(threadCpus);
    await go.send("go");
    await go.send("go");
    await job;
    return { during, reported: ps.map((p) => p.cpus), after: ps.map(threadCpus), process: ps.map((p) => processCpus(p.pid)) };
  }

  it("by default each rank's thread runs on a CPU of its own while its job runs, and has its CPUs back once the job is over", async () => {
    const o = await observe(bound);
    expect(o.during).toEqual(o.reported);
    for (const c of o.during) expect(c).toMatch(/^\d+$/);
    expect(new Set(o.during).size).toBe(2);
    expect(o.after).toEqual(o.process);
    expect(o.after[0]).not.toMatch(/^\d+$/);
  });

  it("bind: \"none\" (runner --bind none) leaves the ranks' threads on every CPU of their process", async () => {
    const o = await observe(unbound);
    expect(o.during).toEqual(o.process);
    expect(o.after).toEqual(o.process);
  });
});
