import { describe, expect, it } from "vitest";
import { RemoteError, type Cluster, type Goroutine, type Remote } from "../src/index.ts";
import { go } from "../src/runtime.ts";
import { take } from "./helpers.ts";
import { useCluster } from "./use-cluster.ts";

type M = typeof import("./fixtures/go-from-runner.ts");

// go(f, ...args) inside remote functions: goroutines started from goroutines, placed by the
// driver near the runner that asked.

/** Resolves once `n` more calls of the cluster have settled (each test ends with its goroutines). */
function settled(cluster: Cluster, n: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const stop = cluster.observe({
      submitted: () => {},
      sent: () => {},
      settled: () => {
        if (++seen < n) return;
        stop();
        resolve();
      },
    });
  });
}

describe("go() inside a remote function", () => {
  const t = useCluster<{ m: M }>({ runners: 2, threads: 2 }, { m: "go-from-runner.ts" });

  it("starts a goroutine that talks with its parent over channels", async () => {
    const ping = t.cluster.chan<number>();
    const pong = t.cluster.chan<number>();
    const both = settled(t.cluster, 2);
    // 2 + 4 + ... + 20: every value went through the child and back.
    expect(await t.m.converse(ping, pong, 10)).toBe(110);
    await both;
  });

  it("goroutines start goroutines: a tree four levels deep and a chain of 30", async () => {
    const leaves = t.cluster.chan<string>(4);
    const all = settled(t.cluster, 1 + 3 + 9 + 27 + 81 + 31);
    t.m.tree.go(4, 3, "", leaves);
    const paths = await take(leaves, 81);
    expect(new Set(paths).size).toBe(81); // each leaf once: 3^4 paths of four digits 0-2
    expect(paths.every((p) => /^[0-2]{4}$/.test(p))).toBe(true);
    const done = t.cluster.chan<number>();
    t.m.chain.go(30, 0, done);
    expect((await done.recv()).value).toBe(30);
    await all;
  });

  it("a failure reaches cluster.on(\"error\") with the remote stack, runner and function", async () => {
    const failed = new Promise<[Error, Goroutine<unknown>]>((resolve) => {
      const listener = (err: Error, g: Goroutine<unknown>): void => {
        t.cluster.off("error", listener);
        resolve([err, g]);
      };
      t.cluster.on("error", listener);
    });
    expect(await t.m.startFailing("on purpose")).toBe("started");
    const [err, g] = await failed;
    expect(g.function).toBe("failing");
    expect(err).toBeInstanceOf(RemoteError);
    const remote = err as RemoteError;
    expect(remote.remoteName).toBe("RangeError");
    expect(remote.functionName).toBe("failing");
    expect(remote.message).toContain("the goroutine failed: on purpose");
    expect(remote.remoteStack).toMatch(/explode[\s\S]*failing/);
    expect(t.cluster.runners.map((r) => r.address)).toContain(remote.runner);
  });

  it("a lambda, a function the module does not export, or a non-function is a TypeError at the go call", async () => {
    for (const kind of ["lambda", "local", "value"] as const) {
      const e = await t.m.misuse(kind);
      expect(e.name).toBe("TypeError");
      expect(e.message).toMatch(/^go: f.* is not an exported function of a module the runner loaded/);
    }
  });

  it("an argument that cannot travel is a SerializationError at the go call, naming its path", async () => {
    const e = await t.m.misuse("args");
    expect(e.name).toBe("SerializationError");
    expect(e.path).toMatch(/^args\[3\]/);
  });

  it("outside a runner thread, go() is a TypeError pointing at m.f.go", () => {
    expect(() => go(() => 1)).toThrow(TypeError);
    expect(() => go(() => 1)).toThrow(/on the driver use m\.f\.go/);
  });
});

/**
 * A parent that starts `n` holding children (spawnHolders): what each reported, [index, pid]
 * (the parent's index -1), once all of them have ended.
 */
async function holders(cluster: Cluster, m: Remote<M>, n: number): Promise<[number, number][]> {
  const where = cluster.chan<[number, number]>(n + 1);
  const release = cluster.chan<never>();
  const all = settled(cluster, n + 1);
  m.spawnHolders.go(n, where, release);
  const got = await take(where, n + 1);
  await release.close();
  await all;
  return got;
}

describe("where a goroutine started on a runner goes", () => {
  describe("idle runners", () => {
    const t = useCluster<{ m: M }>({ runners: 2, threads: 1 }, { m: "go-from-runner.ts" });

    it("the child runs on its parent's runner", async () => {
      const [parent, child] = await holders(t.cluster, t.m, 1);
      expect(parent![0]).toBe(-1);
      expect(child![1]).toBe(parent![1]);
    });
  });

  describe("threads of one runner", () => {
    const t = useCluster<{ m: M }>({ runners: 1, threads: 2 }, { m: "go-from-runner.ts" });

    /** The parent's thread and its 6 children's, once all 7 goroutines have ended. */
    async function threadsOf(oneByOne: boolean): Promise<[number, number[]]> {
      const where = t.cluster.chan<[number, number[]]>(1);
      const release = t.cluster.chan<never>();
      const all = settled(t.cluster, 7);
      t.m.spawnOnThreads.go(6, oneByOne, where, release);
      const got = (await where.recv()).value!;
      await release.close();
      await all;
      return got;
    }

    it("a pipeline's children, each started while everything else there waits on channels, stay on their parent's thread (Go's runnext)", async () => {
      const [parent, children] = await threadsOf(true);
      expect(children).toEqual([parent, parent, parent, parent, parent, parent]);
    });

    it("a fan-out is not piled on one thread: the first child stays, the next ones go where there is room", async () => {
      const [parent, children] = await threadsOf(false);
      expect(children).toContain(parent);
      expect(children.filter((c) => c !== parent).length).toBeGreaterThanOrEqual(2);
    });
  });

  describe("a busy runner", () => {
    const t = useCluster<{ m: M }>({ runners: 2, threads: 1 }, { m: "go-from-runner.ts" });

    it("children stay while their runner is not much busier than the other, then go elsewhere", async () => {
      const got = await holders(t.cluster, t.m, 6);
      const parentPid = got.find(([i]) => i === -1)![1];
      const pidOf = new Map(got.filter(([i]) => i >= 0));
      // Every goroutine holds until released, so each placement saw the loads the earlier
      // ones left (one thread each, a margin of one call per thread): the parent's runner
      // takes the first child, the other runner the second, and so on, turn about.
      const home = [0, 1, 2, 3, 4, 5].map((i) => pidOf.get(i) === parentPid);
      expect(home).toEqual([true, false, true, false, true, false]);
      expect(new Set(pidOf.values()).size).toBe(2);
    });
  });
});
