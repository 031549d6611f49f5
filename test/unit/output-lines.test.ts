import fc from "fast-check";
import path from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { printer, remoteLines, type RemoteLogLine } from "../../src/driver/remote-logs.ts";
import { OutputLines, STDERR, STDOUT, type LineBatch, type OutputLimits } from "../../src/runner/output-lines.ts";
import { userStack } from "../../src/runner/remote-stack.ts";

// The pure parts of remote logs: cutting what calls write into lines, the bound on how much
// of it a thread sends, the runner's frames cut from remote stacks, the driver's printing.

const roomy: OutputLimits = { bytesPerSecond: 1e9, burstBytes: 1e9, maxPendingBytes: 1e9, maxLineChars: 1000 };

/** A clock the test moves. */
function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => (t += ms) };
}

const flat = <K>(batches: LineBatch<K>[]): [K, number, string][] => batches.flatMap((b) => b.lines.map((l): [K, number, string] => [b.key, b.stream, l]));

describe("output lines", () => {
  it("cut writes into lines per call and stream, in the order written; the rest of a line waits for its newline or the call's end", () => {
    const o = new OutputLines<string>(roomy, clock().now);
    o.write("a", STDOUT, "one\ntw");
    o.write("b", STDOUT, "b1\n");
    o.write("a", STDERR, "err ");
    o.write("a", STDOUT, "o\r\nthree");
    o.write("a", STDERR, "line\n");
    expect(o.has("a")).toBe(true);
    expect(o.take()).toEqual([
      { key: "a", stream: STDOUT, lines: ["one"] },
      { key: "b", stream: STDOUT, lines: ["b1"] },
      { key: "a", stream: STDOUT, lines: ["two"] },
      { key: "a", stream: STDERR, lines: ["err line"] },
    ]);
    expect(o.empty).toBe(true);
    o.end("a");
    expect(o.has("a")).toBe(false);
    expect(o.take()).toEqual([{ key: "a", stream: STDOUT, lines: ["three"] }]);
    o.end("b");
    expect(o.take()).toEqual([]);
  });

  it("cut lines longer than the limit, and a write without a newline once it reaches it", () => {
    const o = new OutputLines<string>({ ...roomy, maxLineChars: 4 }, clock().now);
    o.write("a", STDOUT, "abcdefghij\n");
    o.write("a", STDOUT, "klm");
    o.write("a", STDOUT, "nopqr");
    expect(flat(o.take()).map(([, , l]) => l)).toEqual(["abcd", "efgh", "ij", "klmn", "opqr"]);
    o.write("a", STDOUT, "st");
    o.end("a");
    expect(flat(o.take()).map(([, , l]) => l)).toEqual(["st"]);
  });

  it("whatever the writes, every character but the newlines comes out, in order", () => {
    fc.assert(fc.property(fc.array(fc.string({ unit: fc.constantFrom("a", "b", "\n", "é") })), (writes) => {
      const o = new OutputLines<string>(roomy, clock().now);
      for (const w of writes) o.write("k", STDOUT, w);
      o.end("k");
      const text = writes.join("");
      const lines = flat(o.take()).map(([, , l]) => l);
      const expected = text.split("\n");
      if (expected.at(-1) === "") expected.pop();
      expect(lines).toEqual(expected);
    }));
  });

  it("drop lines over the rate, count them, and say so before the next line that goes and at the call's end", () => {
    const c = clock();
    // 100 bytes a second, 100 at once: ten 9-character lines (10 bytes with the newline).
    const o = new OutputLines<string>({ bytesPerSecond: 100, burstBytes: 100, maxPendingBytes: 1e9, maxLineChars: 100 }, c.now);
    for (let i = 0; i < 25; i++) o.write("a", STDOUT, `line ${String(i).padStart(4, "0")}\n`);
    const first = flat(o.take()).map(([, , l]) => l);
    expect(first).toHaveLength(10);
    expect(o.dropped).toBe(15);
    // A little time back is not enough: it waits for half the burst, then notes the drop.
    c.advance(100); // 10 bytes back
    o.write("a", STDOUT, "early\n");
    expect(o.take()).toEqual([]);
    c.advance(500);
    o.write("a", STDOUT, "later\n");
    expect(flat(o.take()).map(([, , l]) => l)).toEqual(["(… 16 lines dropped: this thread printed more than 100 bytes/s)", "later"]);
    for (let i = 0; i < 20; i++) o.write("a", STDERR, "x".repeat(9) + "\n");
    o.end("a");
    const last = flat(o.take());
    expect(last.at(-1)).toEqual(["a", STDERR, expect.stringMatching(/^\(… \d+ lines dropped/)]);
    const sent = last.length - 1;
    expect(sent + Number(/(\d+) lines/.exec(last.at(-1)![2])![1])).toBe(20);
  });

  it("drop lines once this many bytes wait unsent, whatever the rate", () => {
    const o = new OutputLines<string>({ ...roomy, maxPendingBytes: 50 }, clock().now);
    for (let i = 0; i < 10; i++) o.write("a", STDOUT, "123456789\n");
    expect(flat(o.take())).toHaveLength(5);
    o.write("a", STDOUT, "next\n");
    expect(flat(o.take()).map(([, , l]) => l)).toEqual(["(… 5 lines dropped: this thread printed more than 953.7 MiB/s)", "next"]);
  });
});

describe("remote stacks", () => {
  const runnerDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../src/runner");
  it("keep the user's frames and cut the runner's (and the plumbing just above them)", () => {
    const stack = [
      "RangeError: bad",
      "    at inner (/home/me/app/lib.ts:4:9)",
      "    at async Promise.all (index 1)",
      "    at async outer (/home/me/app/main.ts:10:3)",
      "    at async Promise.all (index 0)",
      `    at async runBatch (file://${runnerDir}/worker.ts:40:1)`,
      "    at async onMessage (/x/node_modules/piscina/dist/worker.js:180:22)",
    ].join("\n");
    expect(userStack(stack)).toBe(stack.split("\n").slice(0, 4).join("\n"));
    const sync = ["Error: x", "    at f (/app/m.ts:1:1)", `    at callAs (${runnerDir}/call-output.ts:60:15)`, "    at Array.map (<anonymous>)"].join("\n");
    expect(userStack(sync)).toBe("Error: x\n    at f (/app/m.ts:1:1)");
  });

  it("leave a stack with nothing of the user's, or nothing of the runner's, as it is", () => {
    const runnerOnly = ["ImportError: no", `    at start (${runnerDir}/call-runner.ts:80:5)`].join("\n");
    expect(userStack(runnerOnly)).toBe(runnerOnly);
    expect(userStack("Error: x\n    at f (/app/m.ts:1:1)")).toBe("Error: x\n    at f (/app/m.ts:1:1)");
  });
});

describe("the driver's printing", () => {
  const runner = { address: "10.0.0.5:7700", pid: 42 };

  it("prints each line with Ray's prefix on the stream it was written to", () => {
    const out = new PassThrough();
    const err = new PassThrough();
    printer(out, err)(runner, "train", STDOUT, ["epoch 1", "epoch 2"]);
    printer(out, err)(runner, "train", STDERR, ["warning"]);
    expect(String(out.read())).toBe("(train runner=10.0.0.5:7700 pid=42) epoch 1\n(train runner=10.0.0.5:7700 pid=42) epoch 2\n");
    expect(String(err.read())).toBe("(train runner=10.0.0.5:7700 pid=42) warning\n");
  });

  it("drops lines while its stream is backed up, and counts them when it is not", () => {
    const written: string[] = [];
    // A stream as the printer sees it: how much it holds unwritten, and its writes.
    const out = { writableLength: 0, write: (chunk: unknown): boolean => written.push(String(chunk)) > 0 };
    const print = printer(out as unknown as NodeJS.WritableStream, new PassThrough());
    print(runner, "f", STDOUT, ["first"]);
    out.writableLength = 5 * 1024 * 1024; // a pipe nobody reads
    print(runner, "f", STDOUT, ["lost", "lost too"]);
    out.writableLength = 0;
    print(runner, "f", STDOUT, ["back"]);
    expect(written.join("")).toBe([
      "(f runner=10.0.0.5:7700 pid=42) first",
      "(f runner=10.0.0.5:7700 pid=42) (… 2 lines dropped: this process's stdout was backed up)",
      "(f runner=10.0.0.5:7700 pid=42) back",
      "",
    ].join("\n"));
  });

  it("is on by default, off with false or STRAND_REMOTE_LOGS=0, and a function takes each line instead", () => {
    expect(remoteLines(undefined, {})).toBeTypeOf("function");
    expect(remoteLines(false, {})).toBeUndefined();
    expect(remoteLines(undefined, { STRAND_REMOTE_LOGS: "0" })).toBeUndefined();
    expect(remoteLines(true, { STRAND_REMOTE_LOGS: "0" })).toBeTypeOf("function");
    const got: RemoteLogLine[] = [];
    remoteLines((l) => got.push(l), {})!(runner, "f", STDERR, ["a", "b"]);
    expect(got).toEqual([
      { fn: "f", runner: "10.0.0.5:7700", pid: 42, stream: "stderr", text: "a" },
      { fn: "f", runner: "10.0.0.5:7700", pid: 42, stream: "stderr", text: "b" },
    ]);
  });
});
