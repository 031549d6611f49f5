import { describe, expect, expectTypeOf, it } from "vitest";
import { PROC_NULL, RemoteError, type Cluster, type Remote } from "../src/index.ts";
import { bigSamples, smallSamples, type anyMatching, type Got } from "./fixtures/spmd.ts";
import { rejectionOf } from "./helpers.ts";
import { useCluster } from "./use-cluster.ts";

type Spmd = typeof import("./fixtures/spmd.ts");

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Same type and same bytes: vitest's deep equality walks megabytes element by element. */
function expectSameView(got: unknown, want: ArrayBufferView): void {
  expect(ArrayBuffer.isView(got)).toBe(true);
  const g = got as ArrayBufferView;
  expect(g.constructor).toBe(want.constructor);
  expect(g.byteLength).toBe(want.byteLength);
  const bytes = (v: ArrayBufferView): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  expect(bytes(g).equals(bytes(want))).toBe(true);
}

/** Rank 0's view of anyMatching with ranks 1..n-1 sending. */
function expectAnyMatching(got: Awaited<ReturnType<typeof anyMatching>>, n: number): void {
  const senders = range(n).slice(1);
  const { a, anySourceTag7, sourceAnyTag } = got;
  expect(a).toHaveLength(2 * senders.length);
  for (const s of senders) {
    expect(a.filter((g) => g.source === s)).toEqual([
      { value: `a${s}.0`, source: s, tag: 100 + s },
      { value: `a${s}.1`, source: s, tag: 100 + s },
    ]);
  }
  // recv(ANY, 7) skips the tag-8 messages each source sent first.
  expect(anySourceTag7.map((g) => g.tag)).toEqual(senders.map(() => 7));
  for (const g of anySourceTag7) expect(g.value).toBe(`b${g.source}`);
  expect(anySourceTag7.map((g) => g.source).sort()).toEqual(senders);
  expect(sourceAnyTag).toEqual(senders.map((s) => ({ value: `c${s}`, source: s, tag: 8 })));
}

describe("spmd: point to point", () => {
  // Ranks of one runner share a thread on `t`; `threaded` puts them on two threads of one process.
  const t = useCluster<{ m: Spmd }>({ runners: 3, threads: 1 }, { m: "spmd.ts" });
  const threaded = useCluster<{ m: Spmd }>({ runners: 1, threads: 2 }, { m: "spmd.ts" });

  it("runs `size` ranks where placement says and resolves with their results in rank order, typed", async () => {
    const info = await t.cluster.spmd(4, t.m.rankInfo);
    expect(info.map(({ rank, size }) => ({ rank, size }))).toEqual(range(4).map((rank) => ({ rank, size: 4 })));

    const placed = await t.cluster.spmd({ size: 4, placement: [2, 1, 0, 2] }, t.m.rankInfo);
    const pids = t.cluster.runners.map((r) => r.pid);
    expect(placed.map((p) => p.pid)).toEqual([pids[2], pids[1], pids[0], pids[2]]);

    const times = await t.cluster.spmd(3, t.m.rankTimes, 5);
    expectTypeOf(times).toEqualTypeOf<number[]>();
    expect(times).toEqual([0, 5, 10]);
    expectTypeOf(t.cluster.spmd({ size: 2 }, t.m.sendSamples, "big")).toEqualTypeOf<Promise<Got[][]>>();
    // Checked by `npm run typecheck` only: never called.
    const wrongArguments = (): unknown[] => [
      // @ts-expect-error rankTimes takes a number
      t.cluster.spmd(2, t.m.rankTimes, "x"),
      // @ts-expect-error sendSamples takes "small" | "big"
      t.cluster.spmd(2, t.m.sendSamples, "huge"),
    ];
    expect(wrongArguments).toBeTypeOf("function");
  });

  it("comm() outside a rank fails with a clear error", async () => {
    const err = await rejectionOf(t.m.rankInfo());
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as Error).message).toMatch(/only available inside a rank of an SPMD job/);
  });

  it("ranks of one runner with two threads run on both", async () => {
    for (const size of [2, 4]) {
      const info = await threaded.cluster.spmd({ size, placement: new Array<number>(size).fill(0) }, threaded.m.rankInfo);
      expect(new Set(info.map((i) => i.thread)).size).toBe(2);
    }
  });

  const pairs = [
    { where: "on one thread", placement: [1, 1], threads: false },
    { where: "on two threads of one runner", placement: [0, 0], threads: true },
    { where: "on two runners", placement: [0, 2], threads: false },
  ];

  describe.each(pairs)("two ranks $where", ({ placement, threads }) => {
    // Read when the tests run: the clusters start in beforeAll.
    const on = (): [Cluster, Remote<Spmd>] => (threads ? [threaded.cluster, threaded.m] : [t.cluster, t.m]);

    it("typed arrays (a subarray view too) and untyped values arrive as sent, with source and tag", async () => {
      const [c, f] = on();
      const [, got] = await c.spmd({ size: 2, placement }, f.sendSamples, "small");
      const want = smallSamples();
      expect(got!.map((g) => [g.source, g.tag])).toEqual(want.map((_, i) => [0, i]));
      expect(got!.map((g) => g.value)).toStrictEqual(want);
      const view = got![4]!.value;
      expect(view).toBeInstanceOf(Float64Array);
      expect([...(view as Float64Array)]).toEqual([5, 6, 7, 8]);
    });

    it("values of 1 MiB and more arrive intact (a view at a non-zero byteOffset too)", async () => {
      const [c, f] = on();
      const [, got] = await c.spmd({ size: 2, placement }, f.sendSamples, "big");
      const want = bigSamples();
      expect(got!.map((g) => [g.source, g.tag])).toEqual(want.map((_, i) => [0, i]));
      for (const i of [0, 1, 2]) expectSameView(got![i]!.value, want[i] as ArrayBufferView);
      const { big, ...rest } = got![3]!.value as { big: Float64Array };
      const { big: wantBig, ...wantRest } = want[3] as { big: Float64Array };
      expect(rest).toStrictEqual(wantRest);
      expectSameView(big, wantBig);
    });

    it("a receive for tag 1 takes the tag-1 message although a tag-2 one was sent before it", async () => {
      const [c, f] = on();
      const [, got] = await c.spmd({ size: 2, placement }, f.tagSelective);
      expect(got).toEqual([
        { value: "sent second, tag 1", source: 0, tag: 1 },
        { value: "sent first, tag 2", source: 0, tag: 2 },
      ]);
    });

    it("1,000 messages on one tag arrive in the order sent, awaited one by one or all in flight at once", async () => {
      const [c, f] = on();
      const [, got] = await c.spmd({ size: 2, placement }, f.ordered, 1000);
      expect(got!.awaited).toEqual(range(1000));
      expect(got!.inFlight).toEqual(range(1000));
    });

    it("irecv posts the receive when called: receives match in the order they were posted", async () => {
      const [c, f] = on();
      const [, got] = await c.spmd({ size: 2, placement }, f.isendIrecv);
      expect(got).toEqual([
        { value: "x1", source: 0, tag: 7 },
        { value: "x2", source: 0, tag: 7 },
        { value: "y", source: 0, tag: 9 }, // the ANY receive was posted before the one for tag 9
        { value: "z", source: 0, tag: 9 },
      ]);
    });

    it("the sender may overwrite its array once `await send` resolves: the receiver keeps what was sent", async () => {
      for (const length of [16, 300_000]) {
        const [c, f] = on();
        const [, got] = await c.spmd({ size: 2, placement }, f.mutateAfterSend, length);
        expect(got).toEqual({ min: 1, max: 1, length: 2 * length });
      }
    });
  });

  it("ANY source and ANY tag: every message is received once, with its true source and tag, in order per sender", async () => {
    const [root] = await t.cluster.spmd({ size: 5, placement: [0, 1, 2, 0, 1] }, t.m.anyMatching);
    expectAnyMatching(root!, 5);
    const [threadedRoot] = await threaded.cluster.spmd({ size: 4, placement: [0, 0, 0, 0] }, threaded.m.anyMatching);
    expectAnyMatching(threadedRoot!, 4);
  });

  it("jobs running at once on the same runners never see each other's messages", async () => {
    const placement = [0, 1, 2, 0, 1];
    const jobs = await Promise.all([
      t.cluster.spmd({ size: 5, placement }, t.m.anyMatching),
      t.cluster.spmd({ size: 5, placement }, t.m.anyMatching),
      t.cluster.spmd({ size: 2, placement: [0, 1] }, t.m.ordered, 500),
      t.cluster.spmd({ size: 2, placement: [0, 1] }, t.m.ordered, 500),
    ]);
    expectAnyMatching(jobs[0][0]!, 5);
    expectAnyMatching(jobs[1][0]!, 5);
    for (const job of [jobs[2], jobs[3]]) expect(job[1]).toEqual({ awaited: range(500), inFlight: range(500) });
  });

  it.each([1, 2, 3, 5])("sendrecv shifts a ring of %i ranks without deadlock", async (size) => {
    const got = await t.cluster.spmd(size, t.m.ringShift);
    expect(got).toEqual(range(size).map((r) => {
      const left = (r - 1 + size) % size;
      return [
        { value: { from: left }, source: left, tag: 0 },
        { value: { from: left, tagged: true }, source: left, tag: 4 },
      ];
    }));
  });

  it("PROC_NULL: the ends of an open chain run the same sendrecv, receiving undefined from no rank", async () => {
    const got = await t.cluster.spmd(4, t.m.chainShift);
    expect(got).toEqual([{ value: undefined, source: PROC_NULL }, { value: 0, source: 0 }, { value: 1, source: 1 }, { value: 2, source: 2 }]);
  });

  it("a rank can send to itself, small with an awaited send and big while its receive waits", async () => {
    for (const placement of [[0], [0, 0, 1]]) {
      const got = await t.cluster.spmd({ size: placement.length, placement }, t.m.selfSend);
      expect(got).toEqual(range(placement.length).map((r) => ({
        small: { value: `self ${r}`, source: r, tag: 11 },
        big: { length: 300_000, sum: 300_000 * (r + 1), source: r },
      })));
    }
  });

  it("a destination that is not a rank fails the send with an error naming it; the job goes on", async () => {
    const dests = [2, 7, -1, 1.5];
    const [first, second] = await t.cluster.spmd(2, t.m.badDestination, dests);
    expect(first!.errors.map((e) => e.dest)).toEqual(dests);
    for (const e of first!.errors) {
      expect(["RangeError", "TypeError"]).toContain(e.name);
      expect(e.message).toContain(String(e.dest));
    }
    expect(second!.got).toEqual({ value: "good", source: 0, tag: 3 });
  });

  it("an unserializable value (a function) fails at the send naming its path, and nothing is delivered", async () => {
    const [first, second] = await t.cluster.spmd({ size: 2, placement: [0, 1] }, t.m.unserializable);
    expect(first!.sendError).toMatch(/^SerializationError: /);
    expect(first!.sendError).toMatch(/nested\[1\]/);
    expect(first!.sendError).toMatch(/function/);
    expect(first!.isendError).toMatch(/^SerializationError: .*fn.*function/);
    expect(second!.got).toEqual({ value: "after", source: 0, tag: 4 });
  });
});
