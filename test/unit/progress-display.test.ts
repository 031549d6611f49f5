import { describe, expect, it } from "vitest";
import { showProgress } from "../../src/driver/observe/progress-display.ts";
import { progress } from "../../src/driver/observe/progress-items.ts";
import type { ProgressSnapshot } from "../../src/driver/observe/progress.ts";

// Drawing, against a fake terminal: a stream that records what was written, read back through a
// tiny terminal (carriage return, newline, cursor to a column, clear to the end of the line).

interface FakeStream {
  stream: NodeJS.WriteStream;
  /** Everything written so far. */
  written(): string;
  /** The screen those writes leave. */
  screen(): string[];
  /** Resolves once something matching `re` has been written. */
  wrote(re: RegExp): Promise<void>;
}

function fakeStream(isTTY: boolean, columns = 100): FakeStream {
  let all = "";
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const stream = {
    isTTY, columns,
    write(chunk: string | Uint8Array): boolean {
      all += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
      for (const w of [...waiters]) {
        if (!w.re.test(all)) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      return true;
    },
  };
  return {
    stream: stream as unknown as NodeJS.WriteStream,
    written: () => all,
    screen: () => render(all),
    wrote: (re) => new Promise((resolve) => (re.test(all) ? resolve() : waiters.push({ re, resolve }))),
  };
}

/** The lines a terminal shows after `text` (no scrolling, no wrapping: enough for one line's redraws). */
function render(text: string): string[] {
  const lines: string[] = [""];
  let row = 0;
  let col = 0;
  // eslint-disable-next-line no-control-regex
  for (const m of text.matchAll(/\x1b\[(\d*)([A-Za-z])|\r|\n|[^\x1b\r\n]/gu)) {
    const t = m[0];
    if (t === "\r") col = 0;
    else if (t === "\n") {
      row++;
      col = 0;
      lines[row] ??= "";
    } else if (m[2] === "G") col = Number(m[1] || 1) - 1;
    else if (m[2] === "K") lines[row] = m[1] === "2" ? "" : lines[row]!.slice(0, col);
    else if (m[2] === undefined) {
      const l = lines[row]!.padEnd(col, " ");
      lines[row] = l.slice(0, col) + t + l.slice(col + 1);
      col++;
    } else throw new Error(`unexpected escape ${JSON.stringify(t)}`);
  }
  return lines;
}

function snap(done: number, over: Partial<ProgressSnapshot> = {}): ProgressSnapshot {
  return { submitted: 4, done, failed: 0, running: 4 - done, rate: 2, byFunction: {}, runnersBusy: 1, runners: 1, elapsedMs: 1000, final: false, ...over };
}

const ANSI = /\x1b/; // eslint-disable-line no-control-regex

describe("progress display", () => {
  it("lines: a plain line when counts moved, each period, and a last one; no cursor codes", async () => {
    const out = fakeStream(false);
    let s = snap(0);
    const d = showProgress(() => s, { style: "lines", label: "job", stream: out.stream, intervalMs: 10 });
    s = snap(1);
    await out.wrote(/1\/4 calls/);
    s = snap(3);
    await out.wrote(/3\/4 calls/);
    d.stop(snap(4, { final: true, running: 0 }));
    d.stop(snap(4, { final: true })); // once
    const lines = out.written().split("\n");
    expect(lines.at(-1)).toBe("");
    expect(lines.at(-2)).toBe("job: finished 4/4 calls (4 ok, 0 failed), 2.0 calls/s, 1.0s");
    expect(lines.filter((l) => l.includes("finished"))).toHaveLength(1);
    expect(new Set(lines).size).toBe(lines.length); // a line only when something moved
    expect(out.written()).not.toMatch(ANSI);
  });

  it("bar: drawn at once, redrawn as counts move, left as a finished line", async () => {
    const out = fakeStream(true);
    let s = snap(0);
    const d = showProgress(() => s, { style: "bar", label: "job", stream: out.stream, intervalMs: 10, barWidth: 4 });
    expect(out.screen()).toEqual(["job ░░░░ 0/4 calls · 2.0/s · 1/1 runners busy · 1.0s"]);
    s = snap(2);
    await out.wrote(/2\/4 calls/);
    expect(out.screen()).toEqual(["job ██░░ 2/4 calls · 2.0/s · 1/1 runners busy · 1.0s"]);
    d.stop(snap(4, { final: true, runnersBusy: 0 }));
    expect(out.screen()).toEqual(["job ████ 4/4 calls · 2.0/s · 0/1 runners busy · 1.0s", ""]);
  });

  it("bar: the program's own lines go above it, and its unfinished line is not drawn over", () => {
    const out = fakeStream(true);
    const s = snap(1);
    const d = showProgress(() => s, { style: "bar", stream: out.stream, intervalMs: 1000, barWidth: 4, calls: false });
    const bar = "█░░░ 1/4 calls · 2.0/s · 1.0s";
    out.stream.write("hello\n");
    expect(out.screen()).toEqual(["hello", bar]);
    out.stream.write("partial ");
    out.stream.write(Buffer.from("line"));
    expect(out.screen()).toEqual(["hello", "partial line"]);
    out.stream.write(" ends\n");
    expect(out.screen()).toEqual(["hello", "partial line ends", bar]);
    out.stream.write("unfinished");
    d.stop(snap(4, { final: true }));
    expect(out.screen()).toEqual(["hello", "partial line ends", "unfinished", "████ 4/4 calls · 2.0/s · 1.0s", ""]);
    out.stream.write("after\n"); // unhooked: written as it is
    expect(out.screen().at(-2)).toBe("after");
  });

  it("bar: a second bar takes the line while it runs, then the first comes back below its last line", () => {
    const out = fakeStream(true);
    const outer = showProgress(() => snap(1), { style: "bar", label: "outer", stream: out.stream, intervalMs: 1000, barWidth: 4, calls: false });
    const inner = showProgress(() => snap(2), { style: "bar", label: "inner", stream: out.stream, intervalMs: 1000, barWidth: 4, calls: false });
    expect(out.screen()).toEqual(["inner ██░░ 2/4 calls · 2.0/s · 1.0s"]);
    inner.stop(snap(4, { final: true }));
    expect(out.screen()).toEqual(["inner ████ 4/4 calls · 2.0/s · 1.0s", "outer █░░░ 1/4 calls · 2.0/s · 1.0s"]);
    outer.stop(snap(4, { final: true }));
    expect(out.screen()).toEqual(["inner ████ 4/4 calls · 2.0/s · 1.0s", "outer ████ 4/4 calls · 2.0/s · 1.0s", ""]);
  });
});

describe("progress(items)", () => {
  it("resolves like Promise.all, in order, and reports every item settled", async () => {
    const seen: ProgressSnapshot[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const items = [gate.then(() => "a"), Promise.resolve("b"), "c", gate.then(() => 4)];
    const all = progress(items, { output: (s) => seen.push(s), intervalMs: 0 });
    release();
    const values: (string | number)[] = await all;
    expect(values).toEqual(["a", "b", "c", 4]);
    expect(seen[0]).toMatchObject({ submitted: 4, done: 0, final: false });
    expect(seen.at(-1)).toMatchObject({ submitted: 4, done: 4, failed: 0, running: 0, final: true });
    expect(seen.filter((s) => s.final)).toHaveLength(1);
    expect(seen.at(-1)!.rate).toBeGreaterThan(0);
  });

  it("rejects with the first failure at once, like Promise.all; with settled: true, waits for all like allSettled", async () => {
    const finals: ProgressSnapshot[] = [];
    const never = new Promise<number>(() => {});
    const boom = new Error("boom");
    await expect(progress([Promise.resolve(1), Promise.reject(boom), never], { output: (s) => s.final && finals.push(s) })).rejects.toBe(boom);
    expect(finals).toEqual([expect.objectContaining({ done: 1, failed: 1, running: 1, final: true })]);
    const settled = await progress([Promise.resolve(1), Promise.reject(boom)], { settled: true, output: "none" });
    expect(settled).toEqual([{ status: "fulfilled", value: 1 }, { status: "rejected", reason: boom }]);
    expect(await progress([], { output: "none" })).toEqual([]);
  });

  it("draws a bar on a terminal, plain lines elsewhere", async () => {
    const tty = fakeStream(true);
    await progress([Promise.resolve(1), 2], { stream: tty.stream, label: "items", output: "auto" });
    expect(tty.screen()[0]).toMatch(/^items █{20} 2\/2 · \S+\/s · [\d.]+s$/);
    const pipe = fakeStream(false);
    await progress([Promise.resolve(1), 2], { stream: pipe.stream, label: "items", unit: "tiles" });
    expect(pipe.written()).toMatch(/^items: finished 2\/2 tiles \(2 ok, 0 failed\), \S+ tiles\/s, [\d.]+s\n$/);
  });
});
