import { beforeAll, describe, expect, it } from "vitest";
import { AuthError, Cluster, ImportError, RunnerDaemon } from "../src/index.ts";
import { decodeError, encodeSegments } from "../src/protocol/codec.ts";
import { frameOf, T, type Message } from "../src/protocol/messages.ts";
import { ANY_MESSAGE, readHeader } from "../src/protocol/read-header.ts";
import { fixture, handDriver, silentLogger } from "./helpers.ts";
import { useCluster } from "./use-cluster.ts";

type M = typeof import("./fixtures/math.ts");
type Busy = typeof import("./fixtures/busy.ts");
type Scratch = typeof import("./fixtures/scratch-buffer.ts");

// Lanes: each runner thread serves its own connection; once a module's code is on the
// runner, plain calls go straight to a thread. These tests pin down that they are used,
// authenticated, counted, and that losing one loses no call.
describe("lanes (direct connections to runner threads)", () => {
  let daemon: RunnerDaemon;
  const t = useCluster<{ m: M; busy: Busy }>(async (defer) => {
    daemon = await RunnerDaemon.start({ port: 0, threads: 1, token: "t", logger: silentLogger() });
    defer(() => daemon.close());
    return Cluster.create({ runners: [daemon.address], token: "t" });
  }, { m: "math.ts", busy: "busy.ts" });
  beforeAll(async () => {
    // The first call goes through the main connection and brings the code; lanes come
    // up as the runner announces them. Each awaited call is an event: no sleeping.
    while (t.cluster.runners[0]!.lanes.length < 1) await t.m.add(0, 0);
  });

  it("carries plain calls, and the runner counts them", async () => {
    const before = (await daemon.stats()).calls;
    const { bytesSent, bytesReceived } = t.cluster.runners[0]!;
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => t.m.add(i, 1)));
    // 50 calls and 50 results on the lane, batched (T.Calls, T.Results): each call or result
    // carries at least four header integers and a body, so no fewer than 4 bytes apiece.
    expect(t.cluster.runners[0]!.bytesSent - bytesSent).toBeGreaterThanOrEqual(50 * 4);
    expect(t.cluster.runners[0]!.bytesReceived - bytesReceived).toBeGreaterThanOrEqual(50 * 4);
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect((await daemon.stats()).calls - before).toBe(50);
    expect(t.cluster.runners[0]!.lanes).toHaveLength(1);
  });

  it("refuses a peer without the token, like the main port", async () => {
    const [port] = t.cluster.runners[0]!.lanes;
    await expect(handDriver(`127.0.0.1:${port}`, "wrong")).rejects.toBeInstanceOf(AuthError);
    await expect(handDriver(`127.0.0.1:${port}`)).rejects.toBeInstanceOf(AuthError);
  });

  it("sends each result as it was when the function returned, though the module reuses its buffer", async () => {
    const s = await t.cluster.import<Scratch>(fixture("scratch-buffer.ts"));
    await s.fill(0); // warm: later calls take the lane
    // Back to back on the one thread: the second call overwrites the buffer while the
    // first 16 MB result may still be on its way out.
    const [a, b] = await Promise.all([s.fill(1), s.fill(2)]);
    expect(a.every((x) => x === 1)).toBe(true);
    expect(b.every((x) => x === 2)).toBe(true);
  });

  it("takes a call's inputs inline only: one naming a stored object closes that connection, and the lane serves on", async () => {
    const [port] = t.cluster.runners[0]!.lanes;
    const { conn, next } = await handDriver(`127.0.0.1:${port}`, "t");
    const args = encodeSegments([], "args");
    const input = encodeSegments(1, "input");
    conn.send(frameOf([T.Module, 1, "0".repeat(64)])); // a bundle this runner does not have
    // Inline: the call is taken, and fails only for want of its code.
    conn.send([...frameOf([T.Call, 1, 1, "f", false, [["x.1", null, input.length]], null]), ...args, ...input]);
    // Its result comes in a batch of the turn's results (T.Results): [id, flags (not ok), µs, body bytes].
    const answer = await next();
    const h = readHeader(answer, ANY_MESSAGE) as Message<T.Results>;
    expect(h[0]).toBe(T.Results);
    expect([h[1][0], h[1][1], h[1][3]]).toEqual([1, 0, answer[1]!.byteLength]);
    expect(decodeError(answer.slice(1))).toBeInstanceOf(ImportError);
    // Stored: a thread has no object store to read it from.
    conn.send([...frameOf([T.Call, 2, 1, "f", false, [["x.2", null]], null]), ...args]);
    await expect(next()).rejects.toThrow(/closed/);
    expect(await t.m.add(2, 2)).toBe(4);
    expect(t.cluster.runners[0]!.lanes).toEqual([port]);
  });

  it("re-sends the calls of a lane whose thread is killed, through the main connection", async () => {
    await t.busy.add(0, 0); // warm: busy.ts's code is on the runner
    // The only thread spins in a call that times out; `add` waits behind it on the lane.
    const spinning = t.busy.spin.with({ timeout: 300 })().catch((e: unknown) => e);
    const queued = t.busy.add(2, 3);
    await spinning;
    expect(await queued).toBe(5); // the thread was killed; the call ran on its successor
    // A new thread, a new lane.
    while (t.cluster.runners[0]!.lanes.length < 1) await t.m.add(0, 0);
  });
});
