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
 * collectives). Calls first, each into the first lane free for it (calls never hold calls);
 * then the slices that say which call they belong to (`want`: a rank's collectives), into
 * that call where they nest cleanly; then the rest, into the first lane where they nest
 * cleanly inside a call, or alone. Only calls, and what is inside them, hold slices: a wait
 * that outlived its call (SPMD ranks listen for an abort until the job ends) is drawn alone
 * and holds nothing. Returns the number of lanes.
 */
export function packNested(slices: Slice[]): number {
  const order = [...slices].sort((a, b) => a.ts - b.ts || b.end - b.ts - (a.end - a.ts));
  const lanes: Slice[][] = []; // each lane's outermost slices, by start
  const holds = new Set<Slice>();
  const calls = order.filter((s) => s.topLevel);
  // Calls: interval partitioning by lane, as on the driver (the first lane free at its start).
  const laneEnds: number[] = [];
  for (const s of calls) {
    let lane = laneEnds.findIndex((end) => end <= s.ts);
    if (lane < 0) {
      lane = lanes.length;
      lanes.push([]);
      laneEnds.push(0);
    }
    laneEnds[lane] = s.end;
    s.lane = lane;
    lanes[lane]!.push(s);
    holds.add(s);
  }
  const inCall = (s: Slice, lane: number): boolean => insert(lanes[lane]!, s, holds, false);
  const alone = (s: Slice, lane: number): boolean => insert(lanes[lane]!, s, holds, true);
  for (const s of order.filter((x) => !x.topLevel && x.want !== undefined).concat(order.filter((x) => !x.topLevel && x.want === undefined))) {
    let lane = -1;
    if (s.want !== undefined) lane = lanes.findIndex((l, i) => l.some((c) => c.key === s.want && c.ts <= s.ts && s.ts < c.end) && inCall(s, i));
    if (lane < 0) lane = lanes.findIndex((_, i) => inCall(s, i));
    if (lane < 0) lane = lanes.findIndex((_, i) => alone(s, i));
    if (lane < 0) {
      lane = lanes.length;
      lanes.push([s]);
    }
    s.lane = lane;
  }
  return lanes.length;
}

/**
 * Puts `s` into a forest of cleanly nested slices (`level`: siblings, by start): inside the
 * innermost slice that holds it, with no partial overlap on the way; or, with `root`, at the
 * top where nothing there overlaps it. Returns whether it went in.
 */
function insert(level: Slice[], s: Slice, holds: Set<Slice>, root: boolean): boolean {
  let container: Slice | undefined;
  let at = firstEndingAfter(level, s.ts);
  for (let k = at; k < level.length && level[k]!.ts < s.end; k++) {
    const x = level[k]!;
    if (container !== undefined || !holds.has(x) || x.ts > s.ts || s.end > x.end + NEST_SLACK) return false; // a partial overlap
    container = x;
  }
  if (container !== undefined) {
    const kids = (container.children ??= []);
    const end = s.end;
    s.end = Math.min(s.end, container.end);
    if (insert(kids, s, holds, true)) {
      holds.add(s);
      return true;
    }
    s.end = end;
    return false;
  }
  if (!root) return false;
  while (at < level.length && level[at]!.ts < s.ts) at++;
  level.splice(at, 0, s);
  return true;
}

/** The index of the first of these disjoint siblings (by start) that ends after `t`. */
function firstEndingAfter(level: Slice[], t: number): number {
  let lo = 0;
  let hi = level.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (level[mid]!.end <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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
