import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, local, RemoteError, type RemoteLogLine } from "../src/index.ts";
import { bundle } from "../src/driver/bundle.ts";
import { startLocalRunners } from "../src/driver/local.ts";
import { encodeValue } from "../src/protocol/codec.ts";
import { frameOf, T, type Header } from "../src/protocol/messages.ts";
import { ANY_MESSAGE, readHeader } from "../src/protocol/read-header.ts";
import { fixture, handDriver, runCli, silentLogger, type CliProcess } from "./helpers.ts";
import { useCluster } from "./use-cluster.ts";

type P = typeof import("./fixtures/printing.ts");

// What remote functions print reaches the driver (docs/observability.md): each line with
// its function, runner and pid, in order per call and ahead of the call's result, whether
// the call came down a thread's lane or the runner's main connection; bounded; off on
// request. And remote stacks name the user's source files.

/** Lines handed to a `logs` function. */
class Sink {
  readonly lines: RemoteLogLine[] = [];
  readonly take = (line: RemoteLogLine): void => void this.lines.push(line);

  /** The lines whose text starts with `tag `. */
  of(tag: string): RemoteLogLine[] {
    return this.lines.filter((l) => l.text.startsWith(`${tag} `));
  }
}

/** Calls the runners ran in batches handed over by their main thread (main-connection calls), summed. */
async function mainCalls(cluster: Cluster): Promise<number> {
  return (await cluster.runnerStats()).reduce((s, r) => s + r.batchedCalls, 0);
}

const numbered = (tag: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${tag} ${i}`);

describe("remote logs", () => {
  const sink = new Sink();
  const t = useCluster<{ p: P }>(() => local({ runners: 2, threads: 1, logs: sink.take }), { p: "printing.ts" });
  beforeAll(async () => {
    // Until both runners have run the module (its code is there) and their lanes are up:
    // from then on plain calls take the lanes. Each awaited call is an event.
    const cold = async (): Promise<boolean> =>
      t.cluster.runners.some((r) => r.lanes.length < 1) || (await t.cluster.runnerStats()).some((s) => s.calls === 0);
    while (await cold()) await Promise.all([t.p.quiet(), t.p.quiet()]);
  });

  it("delivers a lane call's lines before its result, each with its function, runner and pid, on the stream it was written to", async () => {
    const before = await mainCalls(t.cluster);
    expect(await t.p.shout("lane", 3)).toBe(3);
    expect(await mainCalls(t.cluster)).toBe(before); // it took a lane
    const lines = sink.of("lane");
    expect(lines.map((l) => [l.fn, l.stream, l.text])).toEqual([
      ["shout", "stdout", "lane 0"], ["shout", "stdout", "lane 1"], ["shout", "stdout", "lane 2"], ["shout", "stderr", "lane done"],
    ]);
    const runner = t.cluster.runners.find((r) => r.address === lines[0]!.runner);
    expect(runner, `runner ${lines[0]!.runner}`).toBeDefined();
    expect(lines.every((l) => l.runner === runner!.address && l.pid === runner!.pid)).toBe(true);
    expect(runner!.pid).not.toBe(process.pid);
  });

  it("delivers a main-connection call's lines (a call with a timeout) before its result too", async () => {
    const before = await mainCalls(t.cluster);
    expect(await t.p.shout.with({ timeout: 20_000 })("main", 2)).toBe(2);
    expect(await mainCalls(t.cluster)).toBe(before + 1);
    expect(sink.of("main").map((l) => [l.fn, l.stream, l.text])).toEqual([["shout", "stdout", "main 0"], ["shout", "stdout", "main 1"], ["shout", "stderr", "main done"]]);
  });

  it("takes console.warn and console.error (stderr), and process.stdout.write in pieces, joined into lines", async () => {
    await t.p.streams("s");
    expect(sink.of("s").map((l) => [l.stream, l.text])).toEqual([
      ["stderr", "s warn"], ["stderr", "s error"], ["stdout", "s piece"], ["stdout", "s whole"], ["stderr", "s raw"],
      ["stdout", "s tail"], // no newline: it goes when the call ends
    ]);
  });

  it("keeps each call's lines in order, and names the right function, when many calls print at once", async () => {
    const exports = ["count", "countA", "countB"] as const;
    const n = 20;
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      const fn = exports[i % 3]!;
      const tag = `c${i}-${fn}`;
      // Lanes (several at once on each thread, interleaving at every await), goroutines and
      // calls with a timeout (the main connection).
      const f = t.p[fn];
      calls.push(i % 5 === 3 ? f.go(tag, n).result : i % 5 === 4 ? f.with({ timeout: 20_000 })(tag, n) : f(tag, n));
    }
    await Promise.all(calls);
    for (let i = 0; i < 30; i++) {
      const fn = exports[i % 3]!;
      const tag = `c${i}-${fn}`;
      const lines = sink.of(tag);
      expect(lines.map((l) => l.text), tag).toEqual(numbered(tag, n));
      expect(lines.every((l) => l.fn === fn && l.stream === "stdout"), tag).toBe(true);
      expect(new Set(lines.map((l) => l.runner)).size, tag).toBe(1);
    }
  });

  it("a remote stack names the user's file (absolute, on this machine), line and column, and not the runner's frames", async () => {
    const file = new URL("./fixtures/printing.ts", import.meta.url).pathname;
    for (const call of [() => t.p.boom("sync"), () => t.p.boomLater("async"), () => t.p.boom.with({ timeout: 20_000 })("main")]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteError);
      const stack = (err as RemoteError).remoteStack;
      expect(stack).toMatch(new RegExp(`^RangeError: \\w+\\n    at (boom|boomLater) \\(${file}:(4|9):9\\)$`));
      expect(stack).not.toContain(".cache");
      expect((err as Error).stack).toContain(`${file}:`);
    }
  });
});

describe("remote logs under a printing loop", () => {
  const sink = new Sink();
  const t = useCluster<{ p: P }>(() => local({ runners: 1, threads: 1, logs: sink.take }), { p: "printing.ts" });

  it("drop what is over the thread's rate with a counted notice; the call completes; the driver gets a bounded amount", async () => {
    await t.p.quiet();
    const t0 = performance.now();
    const printed = await t.p.flood(1500);
    const ms = performance.now() - t0;
    const lines = sink.lines.filter((l) => l.fn === "flood");
    const notices = lines.filter((l) => l.text.startsWith("(… "));
    const dropped = notices.reduce((s, l) => s + Number(/^\(… (\d+) lines? dropped: this thread printed more than 1 MiB\/s\)$/.exec(l.text)![1]), 0);
    const bytes = lines.reduce((s, l) => s + l.text.length + 1, 0);
    // Every line printed came, or was counted; the last notice came before the result.
    expect(lines.length - notices.length + dropped).toBe(printed);
    expect(notices.length).toBeGreaterThan(0);
    expect(dropped).toBeGreaterThan(lines.length);
    // 1 MiB at once, then 1 MiB a second: for the call's time, with room for the notices.
    expect(bytes).toBeLessThan(1024 * 1024 * (1 + ms / 1000) + 64 * 1024);
    // The thread was never held up by its output: it still answers at once.
    expect(await t.p.quiet()).toBe(7);
  });
});

describe("a `logs` function that throws", () => {
  let seen = 0;
  const t = useCluster<{ p: P }>(async (defer) => {
    const r = await startLocalRunners({ runners: 1, threads: 1 });
    defer(() => r.stop());
    const logs = (): void => {
      seen++;
      throw new Error("sink broke");
    };
    return Cluster.create({ runners: r.addresses, token: r.token, logs, logger: silentLogger() });
  }, { p: "printing.ts" });

  it("costs its lines, not the runner: calls go on", async () => {
    expect(await t.p.shout("a", 2)).toBe(2);
    expect(await t.p.shout.with({ timeout: 20_000 })("b", 2)).toBe(2);
    expect(seen).toBeGreaterThanOrEqual(2);
    expect(t.cluster.runners.every((r) => r.alive)).toBe(true);
  });
});

const LISTENING = /^listening on (127\.0\.0\.1:\d+)$/;

describe("remote logs turned off", () => {
  let runner: CliProcess;
  let address: string;
  beforeAll(async () => {
    runner = runCli(["runner", "--listen", "127.0.0.1:0", "--threads", "1"]);
    [, address] = (await runner.line(LISTENING)) as unknown as [string, string];
  });
  afterAll(async () => {
    runner.child.kill("SIGTERM");
    await runner.exit;
  });

  it("logs: false: the runner sends nothing and prints the lines itself, lane and main connection alike", async () => {
    await using cluster = await Cluster.create({ runners: [address], logs: false });
    const p = await cluster.import<P>(fixture("printing.ts"));
    await p.shout("off-first", 1); // the main connection: the module's first call here
    while (cluster.runners[0]!.lanes.length < 1) await p.quiet();
    await p.shout("off-lane", 1);
    await p.shout.with({ timeout: 20_000 })("off-main", 1);
    for (const tag of ["off-first", "off-lane", "off-main"]) await runner.line(new RegExp(`^${tag} 0$`));
  });

  it("on the wire: no T.Log for a driver that did not ask; T.Log ahead of the Result for one that did", async () => {
    const b = await bundle(fixture("printing.ts"));
    const args = encodeValue(["wire", 2], "args");
    /** Frames up to the call's Result, with the code given if asked for. */
    const callByHand = async (owner: Header): Promise<Header[]> => {
      const { conn, next } = await handDriver(address);
      try {
        conn.send(frameOf(owner));
        conn.send(frameOf([T.Module, 1, b.hash]));
        conn.send(frameOf([T.Call, 1, 1, "shout", false], args));
        const seen: Header[] = [];
        for (;;) {
          const f = await next();
          const h = readHeader(f, ANY_MESSAGE);
          if (h[0] === T.CodeRequest) conn.send(frameOf([T.Code, b.hash, true], b.code));
          else seen.push(h);
          if (h[0] === T.Result) return seen;
        }
      } finally {
        conn.destroy();
      }
    };
    for (const owner of [[T.Owner, "q1"], [T.Owner, "q2", false]] as Header[]) {
      expect((await callByHand(owner)).map((h) => h[0])).toEqual([T.Result]);
    }
    expect((await callByHand([T.Owner, "l1", true])).map((h) => h.slice(0, 5))).toEqual([
      [T.Log, 1, "shout", 0, ["wire 0", "wire 1"]], [T.Log, 1, "shout", 1, ["wire done"]], [T.Result, 1, true, expect.any(Number)],
    ]);
  });
});

describe("remote logs printed by a driver process", () => {
  const prefixed = /^\(shout runner=127\.0\.0\.1:\d+ pid=\d+\) /;

  it("`strand run` prints them on the driver's stdout and stderr, prefixed as Ray does", async () => {
    const run = runCli(["run", "--local", "1", "test/fixtures/log-driver.ts"]);
    expect(await run.exit).toBe(0);
    expect(run.lines.filter((l) => prefixed.test(l)).map((l) => l.replace(prefixed, ""))).toEqual(["hi 0", "hi 1"]);
    expect(run.lines.at(-1)).toBe("done 2");
    expect(run.stderr().split("\n").filter((l) => prefixed.test(l)).map((l) => l.replace(prefixed, ""))).toEqual(["hi done"]);
  });

  it("`strand run --no-remote-logs` leaves them to the runner", async () => {
    const run = runCli(["run", "--local", "1", "--no-remote-logs", "test/fixtures/log-driver.ts"]);
    expect(await run.exit).toBe(0);
    expect(run.lines).toEqual(["done 2"]);
    expect(run.stderr()).not.toMatch(/^\(shout/m);
    expect(run.stderr()).toMatch(/^hi done$/m); // the local runner's own stderr is this process's
  });
});
