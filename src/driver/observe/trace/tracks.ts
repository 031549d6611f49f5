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
  /** What it is (an SPMD rank's run: "rank 3"), and what it would rather be inside (that rank's collectives). */
  key?: string | undefined;
  want?: string | undefined;
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
 * Only calls, and what is inside them, hold others: a wait that outlived its call (SPMD
 * ranks listen for an abort until the job ends) is drawn alone and holds nothing, so the
 * collectives of the ranks sharing a thread nest in their own ranks' runs.
 * Returns the number of lanes.
 */
export function packNested(slices: Slice[]): number {
  const order = [...slices].sort((a, b) => a.ts - b.ts || b.end - b.ts - (a.end - a.ts) || Number(b.topLevel) - Number(a.topLevel));
  const stacks: Slice[][] = [];
  const holds = new Set<Slice>();
  for (const s of order) {
    for (const stack of stacks) while (stack.length > 0 && stack[stack.length - 1]!.end <= s.ts) stack.pop();
    const fits = (stack: Slice[]): boolean => {
      const top = stack[stack.length - 1];
      return top === undefined || (!s.topLevel && holds.has(top) && s.end <= top.end + NEST_SLACK);
    };
    // Inside the slice it wants, if one holds it; else the first lane where it fits.
    let lane = s.want === undefined ? -1 : stacks.findIndex((stack) => stack.some((x) => x.key === s.want) && fits(stack));
    if (lane < 0) lane = stacks.findIndex(fits);
    const top = lane < 0 ? undefined : stacks[lane]![stacks[lane]!.length - 1];
    if (top !== undefined) {
      s.end = Math.min(s.end, top.end);
      (top.children ??= []).push(s);
      holds.add(s);
    }
    if (s.topLevel) holds.add(s);
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
