import { describe, expect, it } from "vitest";
import type { Seen } from "./fixtures/spmd-wakeups.ts";
import { useCluster } from "./use-cluster.ts";

// Ranks of one runner on two threads (runner/spmd/local-links.ts): binary values cross the
// ring as their bytes (raw-binary.ts) and come out as the codec would make them; messages sent
// both ways at random moments are never lost, with the waiting rank polling (bound, the
// default) or blocking at once (bind none: no polling). No timing is asserted.

type Wakeups = typeof import("./fixtures/spmd-wakeups.ts");

const expected = (sent: Seen[]): Seen[] => sent.map((s) => {
  // What the receiver gets: its own memory (never shared), a subclass as its base kind.
  const kind = s.name === "subclass" || s.name === "echoed subclass" ? "Float64Array" : s.kind;
  return { ...s, kind, shared: false };
});

for (const bind of ["core", "none"] as const) {
  describe(`spmd: ranks of one runner, bind ${bind}`, () => {
    const t = useCluster<{ m: Wakeups }>({ runners: 1, threads: 2, bind }, { m: "spmd-wakeups.ts" });

    it("binary values of every kind arrive as the codec would give them: class, length, bytes, own memory", async () => {
      const [sent, got] = await t.cluster.spmd({ size: 2, placement: [0, 0] }, t.m.binaryKinds);
      const echoed = sent!.at(-1)!;
      expect(got).toEqual(expected(sent!.slice(0, -1)));
      expect(echoed).toEqual({ ...expected([echoed])[0], name: "echoed subclass" });
      expect(echoed.bytes.length).toBe(16);
    });

    it("many messages both ways at random moments (polling, blocking, the event loop) all arrive, in order, intact", async () => {
      for (const seed of [1, 2, 3]) {
        const r = await t.cluster.spmd({ size: 2, placement: [0, 0] }, t.m.randomDelays, 300, seed);
        expect(r).toEqual([{ rank: 0, received: 300, inOrder: 300 }, { rank: 1, received: 300, inOrder: 300 }]);
      }
    }, 180_000);
  });
}
