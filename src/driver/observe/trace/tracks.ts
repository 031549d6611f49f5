// Laying slices out on tracks. A Trace Event viewer draws the complete events ("X") of one
// thread track as a stack: two slices that overlap without one holding the other break the
// drawing. Calls do overlap (thousands in flight on the driver; async calls and SPMD ranks
// sharing a runner thread), so each track is split into lanes, each lane properly nested.
// Pure: slices in, lanes out.

/** A slice on a track, times in trace microseconds (integers). */
export interface Slice {
  ts: number;
  end: number;
  /** A slice that never sits inside another on its track (a call): it starts a lane's stack. */
  topLevel: boolean;
  /** Set by the layout: its lane, and the slices directly inside it. */
  lane: number;
  children: Slice[] | undefined;
}

/**
 * How far (µs) a slice may outlast the one that holds it and still count as inside (then it
 * is cut to fit): both ends are rounded to microseconds separately on the host that timed them.
 */
export const NEST_SLACK = 2;

/**
 * Lays out slices that may nest (a runner thread: calls, and inside them channel waits,
 * collectives): each goes into the first lane where it fits, inside the innermost slice still
 * open there that holds it, or alone once nothing is open; a top-level slice only alone.
 * Returns the number of lanes.
 */
export function packNested(slices: Slice[]): number {
  const order = [...slices].sort((a, b) => a.ts - b.ts || b.end - b.ts - (a.end - a.ts) || Number(b.topLevel) - Number(a.topLevel));
  const stacks: Slice[][] = [];
  for (const s of order) {
    let lane = -1;
    for (let i = 0; i < stacks.length && lane < 0; i++) {
      const stack = stacks[i]!;
      while (stack.length > 0 && stack[stack.length - 1]!.end <= s.ts) stack.pop();
      const top = stack[stack.length - 1];
      if (top === undefined) lane = i;
      else if (!s.topLevel && s.end <= top.end + NEST_SLACK) {
        s.end = Math.min(s.end, top.end);
        (top.children ??= []).push(s);
        lane = i;
      }
    }
    if (lane < 0) {
      lane = stacks.length;
      stacks.push([]);
    }
    s.lane = lane;
    stacks[lane]!.push(s);
  }
  return stacks.length;
}

/**
 * Lays out slices that never nest in each other (the driver's calls): interval partitioning,
 * each into the lowest lane free at its start. O(n log n). Returns the number of lanes.
 */
export function packFlat(slices: Slice[]): number {
  const order = [...slices].sort((a, b) => a.ts - b.ts || a.end - b.end);
  const busy = new Heap<[end: number, lane: number]>((a, b) => a[0] - b[0] || a[1] - b[1]);
  const free = new Heap<number>((a, b) => a - b);
  let lanes = 0;
  for (const s of order) {
    while (busy.size > 0 && busy.peek()![0] <= s.ts) free.push(busy.pop()![1]);
    s.lane = free.size > 0 ? free.pop()! : lanes++;
    busy.push([s.end, s.lane]);
  }
  return lanes;
}

/** The latest point of `s` outside its children: where a flow leaving it binds. */
export function outPoint(s: Slice): number {
  const kids = [...(s.children ?? [])].sort((a, b) => a.ts - b.ts);
  let t = s.end;
  for (let i = kids.length - 1; i >= 0; i--) {
    const k = kids[i]!;
    if (k.end < t) return (k.end + t) / 2;
    t = Math.min(t, k.ts);
  }
  return t > s.ts ? (s.ts + t) / 2 : s.ts;
}

/** The earliest point of `s` outside its children: where a flow arriving binds. */
export function inPoint(s: Slice): number {
  const kids = [...(s.children ?? [])].sort((a, b) => a.ts - b.ts);
  let t = s.ts;
  for (const k of kids) {
    if (k.ts > t) return (t + k.ts) / 2;
    t = Math.max(t, k.end);
  }
  return t < s.end ? (t + s.end) / 2 : s.end;
}

/** A binary heap. */
class Heap<V> {
  private readonly items: V[] = [];

  constructor(private readonly less: (a: V, b: V) => number) {}

  get size(): number {
    return this.items.length;
  }

  peek(): V | undefined {
    return this.items[0];
  }

  push(v: V): void {
    const a = this.items;
    a.push(v);
    for (let i = a.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (this.less(a[i]!, a[p]!) >= 0) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): V | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!) < 0) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}
