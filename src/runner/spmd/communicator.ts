import { ANY, PROC_NULL, type Comm, type Message, type ReduceOp, type Request, type Status, type Vector } from "../../comm.ts";
import { binomialBcast, binomialGather, binomialReduce, binomialScatter } from "./algorithms/trees.ts";
import { alltoall, disseminationBarrier, recursiveDoublingAllreduce, recursiveDoublingExscan, recursiveDoublingScan } from "./algorithms/exchanges.ts";
import { chainBcast, chainPlan, ringAllgather, ringAllreduce, ringReduce, type ChainPlan } from "./algorithms/rings.ts";
import { extent, linearGatherv, linearScatterv, pairwiseAlltoallv, ringAllgatherv, ringReduceScatterv, type Layout } from "./algorithms/vectors.ts";
import { timeCollectives } from "../metrics/thread-metrics.ts";
import type { Endpoint } from "./endpoint.ts";
import { LARGE_BYTES, type Group } from "./group.ts";
import type { Envelope } from "./mailbox.ts";
import { checkOp, combine, isLocOp, isTypedArray, sliceable, type ElementOp } from "./reduce-ops.ts";
import { describe, failedRequest, NULL_STATUS, receiveRequest, sendRequest, settledRequest } from "./requests.ts";
import { ownerOf } from "../../protocol/activity.ts";
import { timedOnThread } from "../activity/thread-spans.ts";

// A communicator: a group of the job's ranks with contexts of its own, so that its messages
// never match another communicator's (MPI's context ids). User messages and collectives use
// separate contexts; each collective call takes the next tag, so calls in flight at once
// (all ranks make them in the same order, as MPI requires) never mix.

/** What bcast's tree carries: the value itself, or the plan of a pipelined chain. */
type BcastHead<T> = { value: T } | { chain: ChainPlan };

export class Communicator implements Comm {
  readonly size: number;
  private readonly p2p: string;
  private readonly coll: string;
  private collectives = 0;
  private readonly rankOf: Map<number, number>;

  /**
   * @param members the job ranks of this communicator's ranks, in its order
   * @param context a name unique to this communicator within the job
   */
  constructor(private readonly ep: Endpoint, private readonly members: readonly number[], readonly rank: number, private readonly context: string) {
    this.size = members.length;
    this.p2p = `${context}:p`;
    this.coll = `${context}:c`;
    this.rankOf = new Map(members.map((m, i) => [m, i]));
  }

  /** The SPMD job this communicator belongs to (its id names the driver that started it), and this rank in the job. */
  get job(): string {
    return this.ep.job;
  }

  get jobRank(): number {
    return this.ep.rank;
  }

  /** Aborts once the job is aborted (by any rank's failure), with the job's error as reason. */
  get jobAborted(): AbortSignal {
    return this.ep.aborted;
  }

  static world(ep: Endpoint): Communicator {
    return new Communicator(ep, Array.from({ length: ep.size }, (_, i) => i), ep.rank, "w");
  }

  /** This rank alone (MPI_COMM_SELF): no other rank takes part, so it needs no collective. */
  self(): Communicator {
    return new Communicator(this.ep, [this.members[this.rank]!], 0, `${this.context}/self`);
  }

  private checkRank(r: number, what: string): number {
    if (!Number.isInteger(r) || r < 0 || r >= this.size) throw new RangeError(`${what} must be a rank 0..${this.size - 1}, got ${String(r)}`);
    return this.members[r]!;
  }

  private static checkTag(tag: number, what: string, anyAllowed: boolean): void {
    // Safe integers: the wire carries no others (protocol/messages.ts), and they stay distinct.
    if (!Number.isSafeInteger(tag) || tag < (anyAllowed ? ANY : 0)) throw new RangeError(`${what} must be a whole number >= 0${anyAllowed ? " or ANY" : ""}, got ${String(tag)}`);
  }

  send(dest: number, value: unknown, tag = 0): Promise<void> {
    if (dest === PROC_NULL) return Promise.resolve();
    try {
      const to = this.checkRank(dest, "send: dest");
      Communicator.checkTag(tag, "send: tag", false);
      return this.ep.send(to, this.p2p, tag, value);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  recv<T = unknown>(source = ANY, tag = ANY): Promise<Message<T>> {
    if (source === PROC_NULL) return Promise.resolve(this.nullMessage<T>());
    try {
      const from = this.checkSource(source, "recv");
      Communicator.checkTag(tag, "recv: tag", true);
      const r = this.ep.waitFor(this.p2p, from, tag);
      // Matched while this thread drove the ring: one settled promise, no chain.
      if (r.matched !== undefined) return Promise.resolve(this.message<T>(r.matched));
      return r.promise.then((m) => this.message<T>(m));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  isend(dest: number, value: unknown, tag = 0): Request<void> {
    return sendRequest(this.send(dest, value, tag));
  }

  irecv<T = unknown>(source = ANY, tag = ANY): Request<Message<T>> {
    if (source === PROC_NULL) return settledRequest(this.nullMessage<T>());
    try {
      const from = this.checkSource(source, "irecv");
      Communicator.checkTag(tag, "irecv: tag", true);
      return receiveRequest(this.ep.post(this.p2p, from, tag), (m) => this.message<T>(m));
    } catch (err) {
      return failedRequest(err as Error);
    }
  }

  probe(source = ANY, tag = ANY): Promise<Status> {
    if (source === PROC_NULL) return Promise.resolve(NULL_STATUS(PROC_NULL, ANY));
    try {
      const from = this.checkSource(source, "probe");
      Communicator.checkTag(tag, "probe: tag", true);
      return this.ep.probe(this.p2p, from, tag).then((m) => this.status(m));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  iprobe(source = ANY, tag = ANY): Status | undefined {
    if (source === PROC_NULL) return NULL_STATUS(PROC_NULL, ANY);
    const from = this.checkSource(source, "iprobe");
    Communicator.checkTag(tag, "iprobe: tag", true);
    const m = this.ep.peek(this.p2p, from, tag);
    return m === undefined ? undefined : this.status(m);
  }

  private checkSource(source: number, where: string): number {
    return source === ANY ? ANY : this.checkRank(source, `${where}: source`);
  }

  private message<T>(m: Envelope): Message<T> {
    return { value: m.value as T, source: this.rankOf.get(m.source)!, tag: m.tag };
  }

  private nullMessage<T>(): Message<T> {
    return { value: undefined as T, source: PROC_NULL, tag: ANY };
  }

  private status(m: Envelope): Status {
    return describe(m.value, m.bytes, this.rankOf.get(m.source)!, m.tag);
  }

  async sendrecv<T = unknown>(dest: number, value: unknown, source: number, sendTag = 0, recvTag = ANY): Promise<Message<T>> {
    const [, m] = await Promise.all([this.send(dest, value, sendTag), this.recv<T>(source, recvTag)]);
    return m;
  }

  /** The messages of one collective call: its own tag in the collective context. */
  private group(): Group {
    const tag = ++this.collectives;
    return {
      rank: this.rank,
      size: this.size,
      send: (to, value) => this.ep.send(this.members[to]!, this.coll, tag, value),
      recv: <T>(from: number) => {
        const r = this.ep.waitFor(this.coll, this.members[from]!, tag);
        return r.matched !== undefined ? Promise.resolve(r.matched.value as T) : r.promise.then((m) => m.value as T);
      },
      release: (value) => this.ep.release(value),
    };
  }

  barrier(): Promise<void> {
    return disseminationBarrier(this.group());
  }

  async bcast<T>(value: T | undefined, root = 0): Promise<T> {
    this.checkRank(root, "bcast: root");
    const g = this.group();
    if (this.rank !== root) {
      // Only the root knows the value: the tree brings either it or the plan of a chain.
      const head = await binomialBcast<BcastHead<T>>(g, { value: undefined as T }, root);
      return "value" in head ? head.value : (await chainBcast(g, undefined, head.chain, root)) as T;
    }
    if (this.size > 2 && isTypedArray(value) && value.byteLength >= LARGE_BYTES) {
      const plan = chainPlan(value);
      await binomialBcast<BcastHead<T>>(g, { chain: plan }, root);
      await chainBcast(g, value, plan, root);
    } else {
      await binomialBcast<BcastHead<T>>(g, { value: value as T }, root);
    }
    return value as T;
  }

  async scatter<T>(values: readonly T[] | undefined, root = 0): Promise<T> {
    this.checkRank(root, "scatter: root");
    if (this.rank === root && (!Array.isArray(values) || values.length !== this.size)) {
      throw new TypeError(`scatter: the root must give an array of ${this.size} values`);
    }
    return binomialScatter(this.group(), values, root);
  }

  async gather<T>(value: T, root = 0): Promise<T[] | undefined> {
    this.checkRank(root, "gather: root");
    return binomialGather(this.group(), value, root);
  }

  allgather<T>(value: T): Promise<T[]> {
    return ringAllgather(this.group(), value);
  }

  async reduce<T>(value: T, op: ReduceOp<T>, root = 0): Promise<T | undefined> {
    this.checkRank(root, "reduce: root");
    checkOp(op, "reduce", value);
    const g = this.group();
    if (this.size > 1 && sliceable(value, op) && value.byteLength >= LARGE_BYTES) return (await ringReduce(g, value, op as ElementOp, root)) as T | undefined;
    return binomialReduce(g, value, root, (a, b) => combine(op, a, b));
  }

  async allreduce<T>(value: T, op: ReduceOp<T>): Promise<T> {
    checkOp(op, "allreduce", value);
    const g = this.group();
    if (this.size > 1 && sliceable(value, op) && value.byteLength >= LARGE_BYTES) return (await ringAllreduce(g, value, op as ElementOp)) as T;
    return recursiveDoublingAllreduce(g, value, (a, b) => combine(op, a, b));
  }

  async alltoall<T>(values: readonly T[]): Promise<T[]> {
    if (!Array.isArray(values) || values.length !== this.size) throw new TypeError(`alltoall: give an array of ${this.size} values (one per rank)`);
    return alltoall(this.group(), values);
  }

  async scan<T>(value: T, op: ReduceOp<T>): Promise<T> {
    checkOp(op, "scan", value);
    return recursiveDoublingScan(this.group(), value, (a, b) => combine(op, a, b));
  }

  async exscan<T>(value: T, op: ReduceOp<T>): Promise<T | undefined> {
    checkOp(op, "exscan", value);
    return recursiveDoublingExscan(this.group(), value, (a, b) => combine(op, a, b));
  }

  async reduceScatter<V extends Vector>(values: V, op: ReduceOp<V>, counts?: readonly number[]): Promise<V> {
    checkVector(values, "reduceScatter: values");
    checkOp(op, "reduceScatter", values);
    let l: Layout;
    if (counts === undefined) {
      if (values.length % this.size !== 0) throw new RangeError(`reduceScatter: without counts, values' length must be a multiple of the size (${this.size}), got ${values.length}`);
      l = this.layout("reduceScatter", "counts", new Array<number>(this.size).fill(values.length / this.size), "displs", undefined);
    } else {
      l = this.layout("reduceScatter", "counts", counts, "displs", undefined);
      if (extent(l) !== values.length) throw new RangeError(`reduceScatter: counts add up to ${extent(l)} but values has ${values.length} elements`);
    }
    if (isLocOp(op) && isTypedArray(values)) {
      const odd = l.counts.findIndex((c) => c % 2 !== 0);
      if (odd >= 0) throw new RangeError(`reduceScatter: "${op}" on a typed array counts elements, two per (value, index) pair: counts[${odd}] must be even, got ${l.counts[odd]}`);
    }
    return ringReduceScatterv(this.group(), values, l, (a, b) => combine(op, a, b));
  }

  async gatherv<V extends Vector>(value: V, counts: readonly number[] | undefined, root = 0, displs?: readonly number[]): Promise<V | undefined> {
    this.checkRank(root, "gatherv: root");
    checkVector(value, "gatherv: value");
    let l: Layout | undefined;
    if (this.rank === root) {
      l = this.layout("gatherv", "counts", counts, "displs", displs);
      if (value.length !== l.counts[root]) throw new RangeError(`gatherv: the root's value has ${value.length} elements but counts[${root}] is ${l.counts[root]}`);
    }
    return linearGatherv(this.group(), value, root, l);
  }

  async scatterv<V extends Vector>(values: V | undefined, counts: readonly number[] | undefined, root = 0, displs?: readonly number[]): Promise<V> {
    this.checkRank(root, "scatterv: root");
    let l: Layout | undefined;
    if (this.rank === root) {
      checkVector(values, "scatterv: values");
      l = this.layout("scatterv", "counts", counts, "displs", displs);
      checkFits(values, l, "scatterv", "values", "counts and displs");
    }
    return linearScatterv(this.group(), values, root, l);
  }

  async allgatherv<V extends Vector>(value: V, counts: readonly number[], displs?: readonly number[]): Promise<V> {
    checkVector(value, "allgatherv: value");
    const l = this.layout("allgatherv", "counts", counts, "displs", displs);
    if (value.length !== l.counts[this.rank]) throw new RangeError(`allgatherv: value has ${value.length} elements but counts[${this.rank}] is ${l.counts[this.rank]}`);
    return ringAllgatherv(this.group(), value, l);
  }

  async alltoallv<V extends Vector>(values: V, sendCounts: readonly number[], recvCounts: readonly number[], sendDispls?: readonly number[], recvDispls?: readonly number[]): Promise<V> {
    checkVector(values, "alltoallv: values");
    const send = this.layout("alltoallv", "sendCounts", sendCounts, "sendDispls", sendDispls);
    checkFits(values, send, "alltoallv", "values", "sendCounts and sendDispls");
    const recv = this.layout("alltoallv", "recvCounts", recvCounts, "recvDispls", recvDispls);
    return pairwiseAlltoallv(this.group(), values, send, recv);
  }

  /** Counts and displacements, one per rank, checked; displacements default to the blocks one after the other. */
  private layout(where: string, countsName: string, counts: unknown, displsName: string, displs: unknown): Layout {
    const c = this.perRank(where, countsName, counts);
    if (displs === undefined) {
      let at = 0;
      return { counts: c, displs: c.map((n) => (at += n) - n) };
    }
    return { counts: c, displs: this.perRank(where, displsName, displs) };
  }

  private perRank(where: string, name: string, xs: unknown): readonly number[] {
    if (!Array.isArray(xs) || xs.length !== this.size) {
      throw new TypeError(`${where}: ${name} must be an array of ${this.size} whole numbers (one per rank), got ${Array.isArray(xs) ? `${xs.length}` : typeof xs}`);
    }
    xs.forEach((x: unknown, i) => {
      if (!Number.isSafeInteger(x) || (x as number) < 0) throw new RangeError(`${where}: ${name}[${i}] must be a whole number >= 0, got ${String(x)}`);
    });
    return xs as number[];
  }

  async split(color: number, key = this.rank): Promise<Comm | undefined> {
    if (!Number.isInteger(color) || !Number.isFinite(key)) throw new TypeError("split: color must be a whole number and key a number");
    const call = this.collectives + 1; // the allgather's number: the same on every rank
    const all = await this.allgather<[number, number]>([color, key]);
    if (color < 0) return undefined;
    const group = all.map(([c, k], r) => ({ c, k, r })).filter((x) => x.c === color).sort((a, b) => a.k - b.k || a.r - b.r);
    const members = group.map((x) => this.members[x.r]!);
    return new Communicator(this.ep, members, group.findIndex((x) => x.r === this.rank), `${this.context}/${call}.${color}`);
  }
}

const COLLECTIVES = [
  "barrier", "bcast", "scatter", "gather", "allgather", "reduce", "allreduce", "alltoall", "scan", "exscan", "split",
  "reduceScatter", "gatherv", "scatterv", "allgatherv", "alltoallv",
] as const;

function checkVector(v: unknown, what: string): asserts v is Vector {
  if (!isTypedArray(v) && !Array.isArray(v)) throw new TypeError(`${what} must be a typed array or an array, got ${v === null ? "null" : typeof v}`);
}

function checkFits(v: Vector, l: Layout, where: string, name: string, by: string): void {
  if (extent(l) > v.length) throw new RangeError(`${where}: ${by} reach element ${extent(l)} but ${name} has ${v.length}`);
}

// Each collective's duration on this rank, when the runner serves metrics.
timeCollectives(Communicator.prototype, COLLECTIVES);
// Each collective is a span of its rank's thread while a driver watches with spans (a trace):
// the collective's name, detail "jobRank rank/size" (the rank in the job, then in this
// communicator). Wrapped here, once, rather than in every method; with nobody watching a
// call pays one atomic read.
for (const name of COLLECTIVES) {
  const proto = Communicator.prototype as unknown as Record<string, (this: Communicator, ...a: unknown[]) => Promise<unknown>>;
  const run = proto[name]!;
  proto[name] = function (this: Communicator, ...a: unknown[]) {
    return timedOnThread("collective", name, ownerOf(this.job), `${this.jobRank} ${this.rank}/${this.size}`, () => run.apply(this, a));
  };
}
