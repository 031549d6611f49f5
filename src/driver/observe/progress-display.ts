import cliProgress from "cli-progress";
import { progressLine, type LineOptions, type ProgressStyle } from "./progress-line.ts";
import type { ProgressSnapshot } from "./progress.ts";

// Drawing snapshots: the live line on a terminal (cli-progress draws it: throttled redraws of
// what changed, cut to the terminal's width), or plain lines every few seconds for logs. The
// text always comes from progressLine(); nothing here decides what a line says.

export interface DisplayOptions extends Omit<LineOptions, "style" | "width"> {
  style: ProgressStyle;
  /** Where to draw (default process.stderr: stdout stays the program's). */
  stream?: NodeJS.WriteStream;
  /** `bar`: least time between redraws (default 250 ms); `lines`: time between lines (default 5 s). */
  intervalMs?: number;
}

export interface ProgressDisplay {
  /** Draws `final` as the last line (the live line stays, as a finished line) and stops. Idempotent. */
  stop(final: ProgressSnapshot): void;
}

export const BAR_INTERVAL_MS = 250;
export const LINES_INTERVAL_MS = 5_000;

/** Displays still up: at exit (the program ended without closing its cluster) or before an uncaught error each draws its last line. */
const up = new Set<{ atExit(): void }>();
let exitHooked = false;

function whileUp(d: { atExit(): void }): void {
  up.add(d);
  if (exitHooked) return;
  exitHooked = true;
  const last = (): void => {
    for (const x of [...up]) x.atExit();
  };
  process.on("exit", last);
  // An uncaught error is printed next: below the last line, not across the live one.
  process.on("uncaughtExceptionMonitor", last);
}

/** "auto": the live line when `stream` is a terminal, plain lines otherwise. */
export function resolveStyle(style: ProgressStyle | "auto", stream: NodeJS.WriteStream = process.stderr): ProgressStyle {
  return style === "auto" ? (stream.isTTY ? "bar" : "lines") : style;
}

/** Starts drawing what `source` says; the caller stops it with the final snapshot. */
export function showProgress(source: () => ProgressSnapshot, o: DisplayOptions): ProgressDisplay {
  return o.style === "bar" ? new BarDisplay(source, o) : new LinesDisplay(source, o);
}

/** A line every `intervalMs` while counts move, and a last one: for CI logs and files. No cursor codes. */
class LinesDisplay implements ProgressDisplay {
  private readonly stream: NodeJS.WriteStream;
  private readonly timer: ReturnType<typeof setInterval>;
  private lastKey = "0,0,0";
  private stopped = false;

  constructor(private readonly source: () => ProgressSnapshot, private readonly o: DisplayOptions) {
    this.stream = o.stream ?? process.stderr;
    this.timer = setInterval(() => this.tick(), o.intervalMs ?? LINES_INTERVAL_MS);
    this.timer.unref();
    whileUp(this);
  }

  atExit(): void {
    this.stop({ ...this.source(), final: true });
  }

  private tick(): void {
    const s = this.source();
    const key = `${s.submitted},${s.done},${s.failed}`;
    if (key === this.lastKey) return;
    this.lastKey = key;
    this.stream.write(`${progressLine(s, { ...this.o, style: "lines" })}\n`);
  }

  stop(final: ProgressSnapshot): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    up.delete(this);
    this.stream.write(`${progressLine(final, { ...this.o, style: "lines" })}\n`);
  }
}

/**
 * The live line on a terminal. cli-progress redraws it (at most every `intervalMs`, only when
 * the text changed); the line is shared with the program's own output through TerminalLine.
 */
class BarDisplay implements ProgressDisplay {
  private readonly line: TerminalLine;
  private readonly multi: cliProgress.MultiBar;
  private readonly bar: cliProgress.SingleBar;
  /** The text last drawn: what cli-progress is given back while this bar may not draw. */
  private drawn = "";
  private muted = false;
  private stopped = false;

  constructor(private readonly source: () => ProgressSnapshot, private readonly o: DisplayOptions) {
    const stream = o.stream ?? process.stderr;
    this.line = TerminalLine.of(stream);
    // cli-progress writes through this: the stream's own write (ours is hooked), as a terminal
    // even when forced onto a pipe (`--progress`), muted while the bar is taken down.
    const out = {
      isTTY: true,
      get columns(): number {
        return stream.columns || 100;
      },
      write: (s: string): boolean => (this.muted ? true : this.line.raw(s)),
    };
    this.multi = new cliProgress.MultiBar({
      stream: out as unknown as NodeJS.WritableStream,
      format: () => this.text(),
      fps: 1000 / Math.max(1, o.intervalMs ?? BAR_INTERVAL_MS),
      linewrap: true, // cut to the width; `false` would turn the terminal's wrapping off, left off if we are killed
      hideCursor: false, // likewise: nothing to restore if the process dies mid-line
      gracefulExit: false, // its SIGINT handler would keep Ctrl-C from ending the program
    });
    // Its redraw timer must not keep the program alive.
    const unref = (): void => {
      (this.multi as unknown as { timer: ReturnType<typeof setTimeout> | null }).timer?.unref();
    };
    this.multi.on("start", unref);
    this.multi.on("update-post", unref);
    this.line.push(this);
    this.bar = this.multi.create(1, 0);
    this.bar.on("redraw-post", () => {
      if (!this.muted) this.line.drawnBy();
    });
    whileUp(this);
    this.redraw();
  }

  atExit(): void {
    this.stop({ ...this.source(), final: true });
  }

  /** What cli-progress draws: a fresh line when this bar may draw, else the line it has (no redraw). */
  private text(): string {
    if (!this.line.mayDraw(this)) return this.drawn;
    this.drawn = progressLine(this.source(), { ...this.o, style: "bar", width: this.line.columns });
    return this.drawn;
  }

  /** Draws now (the line was cleared for the program's output, or a bar above it ended). */
  redraw(): void {
    if (!this.stopped) (this.bar as cliProgress.GenericBar).render(true); // forced: the line was cleared
  }

  stop(final: ProgressSnapshot): void {
    if (this.stopped) return;
    this.stopped = true;
    up.delete(this);
    this.muted = true; // stop its timer without its closing newline: TerminalLine writes the last line
    this.multi.stop();
    this.muted = false;
    this.line.finish(this, progressLine(final, { ...this.o, style: "bar", width: this.line.columns }));
  }
}

/**
 * The bottom line of a terminal, shared by the live bars of this process and its own output.
 * Writes to the stream (and to stdout, when that is a terminal too) are hooked while a bar is
 * up: the bar is taken off the line before the program's text and drawn again below it once
 * the text ends a line. Bars stack: the newest draws, the others wait (a `progress(items)`
 * inside a `strand run` script), and each leaves its last line when it ends.
 */
class TerminalLine {
  private static readonly lines = new WeakMap<NodeJS.WriteStream, TerminalLine>();
  /** What the cursor's line holds: nothing yet, a bar, or the program's unfinished text. */
  private state: "clean" | "bar" | "partial" = "clean";
  private readonly bars: BarDisplay[] = [];
  private unhooks: (() => void)[] = [];
  /** The stream's own write, around our hook. */
  raw: (s: string) => boolean;

  static of(stream: NodeJS.WriteStream): TerminalLine {
    let l = TerminalLine.lines.get(stream);
    if (l === undefined) TerminalLine.lines.set(stream, (l = new TerminalLine(stream)));
    return l;
  }

  private constructor(private readonly stream: NodeJS.WriteStream) {
    this.raw = (s) => stream.write(s);
  }

  get columns(): number {
    return this.stream.columns || 100;
  }

  mayDraw(b: BarDisplay): boolean {
    return this.bars.at(-1) === b && this.state !== "partial";
  }

  drawnBy(): void {
    this.state = "bar";
  }

  push(b: BarDisplay): void {
    if (this.bars.length === 0) this.hook();
    this.bars.push(b);
  }

  /** `b` ended: its last line goes where the live line was (or above the bar still running). */
  finish(b: BarDisplay, last: string): void {
    const i = this.bars.indexOf(b);
    if (i === -1) return;
    this.bars.splice(i, 1);
    if (this.state === "bar") this.raw("\r\x1b[K");
    else if (this.state === "partial") this.raw("\n");
    this.raw(`${last}\n`);
    this.state = "clean";
    if (this.bars.length === 0) this.unhook();
    else this.bars.at(-1)!.redraw();
  }

  private hook(): void {
    const targets = new Set<NodeJS.WriteStream>([this.stream]);
    if (this.stream === process.stderr && process.stdout.isTTY) targets.add(process.stdout);
    for (const t of targets) {
      const own = t.write;
      const raw = own.bind(t);
      if (t === this.stream) this.raw = (s) => raw(s);
      const hooked = (...args: Parameters<typeof own>): boolean => {
        if (this.state === "bar") {
          raw("\r\x1b[K");
          this.state = "clean";
        }
        const r = raw(...args);
        const chunk = args[0] as string | Uint8Array;
        if (chunk.length > 0) {
          this.state = (typeof chunk === "string" ? chunk.endsWith("\n") : chunk[chunk.length - 1] === 0x0a) ? "clean" : "partial";
        }
        if (this.state === "clean") this.bars.at(-1)?.redraw();
        return r;
      };
      t.write = hooked as typeof own;
      this.unhooks.push(() => {
        if (t.write === hooked) t.write = own;
      });
    }
  }

  private unhook(): void {
    for (const u of this.unhooks) u();
    this.unhooks = [];
    this.raw = (s) => this.stream.write(s);
  }
}
