import type { RunnerPort } from "./runner-port.ts";

/** A runner's place in one heap: its key as last seen, and where it sits (-1: out of it). */
export interface HeapSlot {
  readonly runner: RunnerPort;
  /** When it joined the scheduler: the earlier of two equal runners goes first (as a scan in join order would). */
  readonly seq: number;
  a: number;
  b: number;
  index: number;
}

/** What orders a heap: smaller (a, then b) is better. */
export interface RunnerOrder {
  /** Whether the runner may be taken at all (room in its window; or usable). */
  belongs(r: RunnerPort): boolean;
  a(r: RunnerPort): number;
  b(r: RunnerPort): number;
}

/**
 * The runners, best first, in an indexed binary heap: the scheduler finds the runner it
 * wants in O(log n) instead of scanning them all.
 *
 * A runner's key changes behind the heap's back: sends to it (the scheduler's own, and an
 * SPMD rank's straight down the link) and a runner starting to stop are not reported. Only
 * the other way is: a freed slot, a grown window or a new runner always comes with
 * `update` (RunnerPort's promise). So a key kept here is never worse than the runner's
 * real one, and `top()` checks the one it is about to hand out: a stale top is put back in
 * its place, one that no longer belongs is dropped, and the next is looked at. Whatever
 * then stands on top is the real best: every other key is at best what is kept for it,
 * which is no better than the top's. Each repair pays for one unreported change, so a
 * look costs O(log n) amortized.
 */
export class RunnerHeap {
  private readonly heap: HeapSlot[] = [];
  /** Keys compared so far: what the unit test and the placement bench count. */
  comparisons = 0;

  constructor(private readonly order: RunnerOrder) {}

  get size(): number {
    return this.heap.length;
  }

  /** A runner's place in this heap, out of it until `update` puts it in. `seq`: its join order. */
  slot(runner: RunnerPort, seq: number): HeapSlot {
    return { runner, seq, a: 0, b: 0, index: -1 };
  }

  /** A runner joined, or was given back a slot: puts it in, or moves it up to its key. */
  update(e: HeapSlot): void {
    const r = e.runner;
    if (e.index < 0) {
      if (!this.order.belongs(r)) return;
      e.a = this.order.a(r);
      e.b = this.order.b(r);
      e.index = this.heap.length;
      this.heap.push(e);
      this.up(e.index);
      return;
    }
    const a = this.order.a(r);
    const b = this.order.b(r);
    // Worse than kept: left for top() to find (a kept key may be better than the real one).
    if (a > e.a || (a === e.a && b >= e.b)) return;
    e.a = a;
    e.b = b;
    this.up(e.index);
  }

  delete(e: HeapSlot): void {
    if (e.index < 0) return;
    const last = this.heap.pop()!;
    if (last !== e) {
      this.heap[e.index] = last;
      last.index = e.index;
      this.down(this.up(e.index));
    }
    e.index = -1;
  }

  /** The best runner that belongs, its key as it is now. */
  top(): RunnerPort | undefined {
    for (;;) {
      const e = this.heap[0];
      if (e === undefined) return undefined;
      const r = e.runner;
      if (!this.order.belongs(r)) {
        this.delete(e);
        continue;
      }
      const a = this.order.a(r);
      const b = this.order.b(r);
      if (a === e.a && b === e.b) return r;
      e.a = a;
      e.b = b;
      this.down(this.up(0));
    }
  }

  /** The best runner but the one in `e` (which stays in). */
  topExcept(e: HeapSlot): RunnerPort | undefined {
    const t = this.top();
    if (t !== e.runner) return t;
    this.delete(e);
    const next = this.top();
    // Back in with the key it was just checked at.
    e.index = this.heap.length;
    this.heap.push(e);
    this.up(e.index);
    return next;
  }

  private before(x: HeapSlot, y: HeapSlot): boolean {
    this.comparisons++;
    return x.a !== y.a ? x.a < y.a : x.b !== y.b ? x.b < y.b : x.seq < y.seq;
  }

  /** Moves the entry at `i` up to its place; returns where it ended. */
  private up(i: number): number {
    const h = this.heap;
    const e = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (!this.before(e, parent)) break;
      h[i] = parent;
      parent.index = i;
      i = p;
    }
    h[i] = e;
    e.index = i;
    return i;
  }

  private down(i: number): void {
    const h = this.heap;
    const e = h[i]!;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.before(h[r]!, h[l]!) ? r : l;
      if (!this.before(h[c]!, e)) break;
      h[i] = h[c]!;
      h[i]!.index = i;
      i = c;
    }
    h[i] = e;
    e.index = i;
  }
}
