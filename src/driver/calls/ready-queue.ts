import type { PendingCall } from "./call.ts";

/**
 * Calls whose inputs are ready, highest first: the one with the longest chain of calls
 * waiting behind it goes first (critical path), then the oldest. A binary heap.
 */
export class ReadyQueue {
  private readonly heap: { call: PendingCall; height: number; seq: number }[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(call: PendingCall): void {
    const h = this.heap;
    h.push({ call, height: call.height, seq: this.seq++ });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  peek(): PendingCall | undefined {
    return this.heap[0]?.call;
  }

  pop(): PendingCall | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top?.call;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.before(l, m)) m = l;
      if (r < h.length && this.before(r, m)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
    return top.call;
  }

  /** The calls waiting, in no particular order (the heap stays as it is). */
  calls(): PendingCall[] {
    return this.heap.map((x) => x.call);
  }

  drain(): PendingCall[] {
    return this.heap.splice(0).map((x) => x.call);
  }

  private before(a: number, b: number): boolean {
    const x = this.heap[a]!;
    const y = this.heap[b]!;
    return x.height !== y.height ? x.height > y.height : x.seq < y.seq;
  }
}
