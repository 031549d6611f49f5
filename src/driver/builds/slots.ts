import { RunnerLostError } from "../../errors.ts";

// How many commands each runner runs at once: one per thread. Commands wait here, on the
// driver, rather than in a runner's queue, so the most urgent one (a graph's longest path
// first) takes the next free thread, wherever it frees, and goes where its inputs are.
//
// Queued ahead: once every thread of every runner that fits is taken, the most urgent waiting
// command is sent anyway to a runner whose threads are all busy, one per thread (`AHEAD`).
// The runner fetches its inputs and sets up its sandbox while the thread's command still runs,
// and starts it the moment that command exits (runner/exec/exec-runtime.ts gates it): the
// round trip to the driver and the setup no longer sit between two commands. Measured before
// (session 26, loaded): 17-40 ms between a thread's commands, on actions of ~70 ms of CPU.
// The price: a command that becomes ready later and is more urgent than one already queued
// ahead waits one command more (`overtaken` counts how often).

/** Commands queued ahead per runner thread, beyond the one it runs (STRAND_EXEC_AHEAD=0: none). */
export const AHEAD = process.env["STRAND_EXEC_AHEAD"] === "0" ? 0 : 1;

export interface SlotRunner {
  readonly address: string;
  readonly usable: boolean;
  readonly threads: number;
}

/** A command's place on a runner: returned to `release` when it is done there. */
export interface Lease<R extends SlotRunner> {
  readonly runner: R;
  /** Every thread of the runner was taken when it was placed: the runner holds it until one frees. */
  readonly ahead: boolean;
  readonly priority: number;
}

interface Waiter<R extends SlotRunner> {
  priority: number;
  seq: number;
  /** Whether it may run there (tools, a runner asked for). */
  fits: (r: R) => boolean;
  /** How much it would rather run there (bytes of its inputs already there). */
  affinity: (r: R) => number;
  resolve: (l: Lease<R>) => void;
  reject: (e: Error) => void;
}

export class Slots<R extends SlotRunner> {
  private readonly leases = new Map<R, Set<Lease<R>>>();
  private waiters: Waiter<R>[] = [];
  private seq = 0;
  /** Commands placed ahead, and how often a more urgent one was left waiting behind one of them. */
  readonly stats = { ahead: 0, overtaken: 0 };

  constructor(private readonly runners: () => readonly R[], private readonly ahead = AHEAD) {}

  /** Commands placed on `r` now (running, or queued ahead there). */
  busy(r: R): number {
    return this.leases.get(r)?.size ?? 0;
  }

  /** A place on a runner that fits, once one is free; higher `priority` first, then first come. */
  acquire(priority: number, fits: (r: R) => boolean, affinity: (r: R) => number): Promise<Lease<R>> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ priority, seq: this.seq++, fits, affinity, resolve, reject });
      this.waiters.sort((a, b) => b.priority - a.priority || a.seq - b.seq);
      this.pump();
    });
  }

  release(lease: Lease<R>): void {
    const held = this.leases.get(lease.runner);
    if (held === undefined || !held.delete(lease)) return;
    if (held.size === 0) this.leases.delete(lease.runner);
    // A thread freed with a command queued ahead on it: that one runs now, even if a more
    // urgent command that fits this runner came up since (it waits one command more).
    if (held.size >= lease.runner.threads) {
      let queued = -Infinity;
      for (const l of held) if (l.ahead) queued = Math.max(queued, l.priority);
      const top = this.waiters.find((w) => w.fits(lease.runner));
      if (top !== undefined && queued !== -Infinity && top.priority > queued) this.stats.overtaken++;
    }
    this.pump();
  }

  /** Runners changed (one joined or was lost), or a thread freed: hand out what is free. */
  pump(): void {
    if (this.waiters.length === 0) return;
    const usable = this.runners().filter((r) => r.usable);
    const left: Waiter<R>[] = [];
    this.waiters.forEach((w, i) => {
      const fitting = usable.filter(w.fits);
      if (fitting.length === 0) {
        w.reject(new RunnerLostError("(none)", "no connected runner can run this command (its tools, or the runner it asked for)"));
        return;
      }
      // A free thread anywhere first; only when none fits, a place queued ahead, and that only
      // while the commands still waiting are at least the busy threads with nothing queued
      // ahead yet. Fewer, and one queued ahead on a runner would wait there for its command
      // while another thread freed first and stood idle (measured: one runner idle 19.8 s of a
      // 54 s net/http build); held back here, it takes whichever thread frees first.
      const best = this.choose(w, fitting, 0) ?? (this.waiters.length - i >= this.openAhead(usable) ? this.choose(w, fitting, this.ahead) : undefined);
      if (best === undefined) {
        left.push(w);
        return;
      }
      const lease: Lease<R> = { runner: best, ahead: this.busy(best) >= best.threads, priority: w.priority };
      if (lease.ahead) this.stats.ahead++;
      const held = this.leases.get(best);
      if (held === undefined) this.leases.set(best, new Set([lease]));
      else held.add(lease);
      w.resolve(lease);
    });
    this.waiters = left;
  }

  /** Places queued ahead still open on runners whose threads are all taken. */
  private openAhead(usable: R[]): number {
    let n = 0;
    for (const r of usable) {
      const busy = this.busy(r);
      if (busy >= r.threads) n += Math.max(0, r.threads * (1 + this.ahead) - busy);
    }
    return n;
  }

  /** The runner for `w` with a place free counting `ahead` queued per thread, or undefined. */
  private choose(w: Waiter<R>, fitting: R[], ahead: number): R | undefined {
    let best: R | undefined;
    let bestScore = -Infinity;
    for (const r of fitting) {
      const free = r.threads * (1 + ahead) - this.busy(r);
      if (free <= 0) continue;
      // Inputs already there count most; among equals, the runner with the most free places.
      const score = w.affinity(r) * 1e3 + free;
      if (score > bestScore) {
        best = r;
        bestScore = score;
      }
    }
    return best;
  }

  /** The cluster closed: nothing waiting will run. */
  fail(err: Error): void {
    for (const w of this.waiters.splice(0)) w.reject(err);
  }
}
