import { describe, expect, it } from "vitest";
import { SIZES, type BytesReport } from "./fixtures/spmd-rank-bytes.ts";
import type { Seen } from "./fixtures/spmd-wakeups.ts";
import { useCluster } from "./use-cluster.ts";

// Binary messages between ranks on different runners travel as their bytes (T.RankBytes,
// runner/spmd/remote-links.ts), not through the codec: they must come out as the codec would
// make them (class, length, bytes, own memory), at every size around the thresholds of that
// path, in order with codec messages, both ways, and stay intact after later messages.

type Bytes = typeof import("./fixtures/spmd-rank-bytes.ts");
type Wakeups = typeof import("./fixtures/spmd-wakeups.ts");

const expected = (sent: Seen[]): Seen[] => sent.map((s) => {
  const kind = s.name === "subclass" || s.name === "echoed subclass" ? "Float64Array" : s.kind;
  return { ...s, kind, shared: false };
});

// 4 values a size but 3 for sizes 0 and 1 (no DataView), each received once and echoed once.
const perRound = SIZES.reduce((n, s) => n + (s > 1 ? 4 : 3), 0) * 2 * 2;

for (const bind of ["core", "none"] as const) {
  describe(`spmd: binary messages across runners, bind ${bind}`, () => {
    const t = useCluster<{ b: Bytes; w: Wakeups }>({ runners: 2, threads: 1, bind }, { b: "spmd-rank-bytes.ts", w: "spmd-wakeups.ts" });

    it("every kind arrives as the codec would give it: class, length, bytes, own memory", async () => {
      const [sent, got] = await t.cluster.spmd(2, t.w.binaryKinds);
      const echoed = sent!.at(-1)!;
      expect(got).toEqual(expected(sent!.slice(0, -1)));
      expect(echoed).toEqual({ ...expected([echoed])[0], name: "echoed subclass" });
    }, 60_000);

    it("sizes around every threshold, both ways, echoed, in order with codec messages, intact after later messages", async () => {
      const reports: BytesReport[] = await t.cluster.spmd(2, t.b.thresholds, 2);
      expect(new Set(reports.map((r) => r.pid)).size).toBe(2); // every message crosses TCP
      expect(reports.flatMap((r) => r.errors)).toEqual([]);
      for (const r of reports) expect(r.received).toBe(perRound); // 2 rounds, half of it each
    }, 180_000);
  });
}
