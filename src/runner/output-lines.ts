// What a runner thread's calls print, cut into lines per call and stream, with a bound on
// how much of it travels: a thread printing in a tight loop must cost its driver neither
// memory nor bandwidth beyond the bound, and must never wait for it. Pure: the clock is
// given, and the lines are taken by whoever sends them (call-output.ts).

export const STDOUT = 0;
export const STDERR = 1;
export type StreamNo = typeof STDOUT | typeof STDERR;

export interface OutputLimits {
  /** Bytes of lines per second a thread may send, on average (a token bucket)... */
  bytesPerSecond: number;
  /** ...and at once, after a quiet spell. */
  burstBytes: number;
  /** Lines taken by no one yet: beyond this, lines are dropped too. */
  maxPendingBytes: number;
  /** A line longer than this is cut (a write without a newline, too, once it is this long). */
  maxLineChars: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_OUTPUT_LIMITS: OutputLimits = {
  bytesPerSecond: MiB,
  burstBytes: MiB,
  maxPendingBytes: 4 * MiB,
  maxLineChars: 16 * 1024,
};

/** Consecutive lines of one call's stream, in the order they were written. */
export interface LineBatch<K> {
  key: K;
  stream: StreamNo;
  lines: string[];
}

/** The line that stands for lines a bound dropped. */
export function dropNotice(n: number, why: string): string {
  return `(… ${n} line${n === 1 ? "" : "s"} dropped: ${why})`;
}

interface CallState {
  /** Text after the last newline, per stream. */
  partial: [string, string];
  /** Lines dropped since the last one that went, per stream. */
  dropped: [number, number];
}

/**
 * The lines of the calls of one thread (`K`: whatever names a call), waiting to be sent.
 * Over the rate, a line is dropped and counted; the next line of that call's stream that
 * goes, or the call's end, is preceded by a notice saying how many were dropped.
 */
export class OutputLines<K> {
  private readonly states = new Map<K, CallState>();
  private pending: LineBatch<K>[] = [];
  private pendingBytes = 0;
  private tokens: number;
  private last: number;
  private dropping = false;
  /** Lines dropped so far, in all. */
  dropped = 0;

  constructor(
    private readonly limits: OutputLimits = DEFAULT_OUTPUT_LIMITS,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = limits.burstBytes;
    this.last = now();
  }

  /** Whether the call has written anything not yet ended. */
  has(key: K): boolean {
    return this.states.has(key);
  }

  get empty(): boolean {
    return this.pending.length === 0;
  }

  /** Text a call wrote to a stream: its whole lines join the pending ones. */
  write(key: K, stream: StreamNo, text: string): void {
    let st = this.states.get(key);
    if (st === undefined) this.states.set(key, (st = { partial: ["", ""], dropped: [0, 0] }));
    let start = 0;
    let nl = text.indexOf("\n");
    if (nl !== -1 && st.partial[stream] !== "") {
      this.line(key, st, stream, st.partial[stream] + text.slice(0, nl));
      st.partial[stream] = "";
      start = nl + 1;
      nl = text.indexOf("\n", start);
    }
    for (; nl !== -1; start = nl + 1, nl = text.indexOf("\n", start)) this.line(key, st, stream, text.slice(start, nl));
    if (start < text.length) {
      let rest = st.partial[stream] + text.slice(start);
      const max = this.limits.maxLineChars;
      for (; rest.length >= max; rest = rest.slice(max)) this.line(key, st, stream, rest.slice(0, max));
      st.partial[stream] = rest;
    }
  }

  /**
   * The call is over: what it left without a newline becomes a line, and lines it had
   * dropped since its last one are noted.
   */
  end(key: K): void {
    const st = this.states.get(key);
    if (st === undefined) return;
    this.states.delete(key);
    for (const stream of [STDOUT, STDERR] as const) {
      if (st.partial[stream] !== "") this.line(key, st, stream, st.partial[stream]);
      if (st.dropped[stream] > 0) this.push(key, stream, this.notice(st.dropped[stream]));
    }
  }

  /** The pending lines, in order; they are the caller's now. */
  take(): LineBatch<K>[] {
    const out = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    return out;
  }

  private notice(n: number): string {
    const b = this.limits.bytesPerSecond;
    const rate = b >= MiB ? `${+(b / MiB).toFixed(1)} MiB/s` : b >= 1024 ? `${Math.round(b / 1024)} KiB/s` : `${b} bytes/s`;
    return dropNotice(n, `this thread printed more than ${rate}`);
  }

  /** A whole line (cut in pieces if it is too long). */
  private line(key: K, st: CallState, stream: StreamNo, text: string): void {
    const max = this.limits.maxLineChars;
    if (text.length <= max) return this.piece(key, st, stream, text.endsWith("\r") ? text.slice(0, -1) : text);
    for (let at = 0; at < text.length; at += max) this.piece(key, st, stream, text.slice(at, at + max));
  }

  private piece(key: K, st: CallState, stream: StreamNo, line: string): void {
    let cost = line.length + 1;
    const t = this.now();
    this.tokens = Math.min(this.limits.burstBytes, this.tokens + ((t - this.last) / 1000) * this.limits.bytesPerSecond);
    this.last = t;
    // Once over, lines are dropped until half the burst has come back: a steady flood then
    // sends a run of lines and one notice per half second, not a notice per line.
    if (this.dropping && this.tokens < this.limits.burstBytes / 2) cost = Infinity;
    if (cost > this.tokens || this.pendingBytes + cost > this.limits.maxPendingBytes) {
      this.dropping = true;
      st.dropped[stream]++;
      this.dropped++;
      return;
    }
    this.dropping = false;
    this.tokens -= cost;
    if (st.dropped[stream] > 0) {
      this.push(key, stream, this.notice(st.dropped[stream]));
      st.dropped[stream] = 0;
    }
    this.push(key, stream, line);
  }

  private push(key: K, stream: StreamNo, line: string): void {
    this.pendingBytes += line.length + 1;
    const last = this.pending.at(-1);
    if (last !== undefined && last.key === key && last.stream === stream) last.lines.push(line);
    else this.pending.push({ key, stream, lines: [line] });
  }
}
