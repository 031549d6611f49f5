import { ANY, PROC_NULL, type Comm, type Message, type ReduceOp } from "../../comm.ts";
import { binomialBcast, binomialGather, binomialReduce, binomialScatter } from "./algorithms/trees.ts";
import { alltoall, disseminationBarrier, recursiveDoublingAllreduce, recursiveDoublingScan } from "./algorithms/exchanges.ts";
import { chainBcast, chainPlan, ringAllgather, ringAllreduce, ringReduce, type ChainPlan } from "./algorithms/rings.ts";
import { timeCollectives } from "../metrics/thread-metrics.ts";
import type { Endpoint } from "./endpoint.ts";
import { LARGE_BYTES, type Group } from "./group.ts";
import { checkOp, combine, isTypedArray, sliceable, type NamedOp } from "./reduce-ops.ts";
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

  static world(ep: Endpoint): Communicator {
    return new Communicator(ep, Array.from({ length: ep.size }, (_, i) => i), ep.rank, "w");
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
    if (source === PROC_NULL) return Promise.resolve({ value: undefined as T, source: PROC_NULL, tag: ANY });
    try {
      const from = source === ANY ? ANY : this.checkRank(source, "recv: source");
      Communicator.checkTag(tag, "recv: tag", true);
      return this.ep.receive(this.p2p, from, tag).then((m) => ({ value: m.value as T, source: this.rankOf.get(m.source)!, tag: m.tag }));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  isend(dest: number, value: unknown, tag = 0): Promise<void> {
    return this.send(dest, value, tag);
  }

  irecv<T = unknown>(source = ANY, tag = ANY): Promise<Message<T>> {
    return this.recv<T>(source, tag);
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
      recv: <T>(from: number) => this.ep.receive(this.coll, this.members[from]!, tag).then((m) => m.value as T),
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
    checkOp(op, "reduce");
    const g = this.group();
    if (this.size > 1 && sliceable(value, op) && value.byteLength >= LARGE_BYTES) return (await ringReduce(g, value, op as NamedOp, root)) as T | undefined;
    return binomialReduce(g, value, root, (a, b) => combine(op, a, b));
  }

  async allreduce<T>(value: T, op: ReduceOp<T>): Promise<T> {
    checkOp(op, "allreduce");
    const g = this.group();
    if (this.size > 1 && sliceable(value, op) && value.byteLength >= LARGE_BYTES) return (await ringAllreduce(g, value, op as NamedOp)) as T;
    return recursiveDoublingAllreduce(g, value, (a, b) => combine(op, a, b));
  }

  async alltoall<T>(values: readonly T[]): Promise<T[]> {
    if (!Array.isArray(values) || values.length !== this.size) throw new TypeError(`alltoall: give an array of ${this.size} values (one per rank)`);
    return alltoall(this.group(), values);
  }

  async scan<T>(value: T, op: ReduceOp<T>): Promise<T> {
    checkOp(op, "scan");
    return recursiveDoublingScan(this.group(), value, (a, b) => combine(op, a, b));
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

// Each collective's duration on this rank, when the runner serves metrics.
timeCollectives(Communicator.prototype, ["barrier", "bcast", "scatter", "gather", "allgather", "reduce", "allreduce", "alltoall", "scan", "split"]);
// Each collective is a span of its rank's thread while a driver watches with spans (a trace):
// the collective's name, detail "jobRank rank/size" (the rank in the job, then in this
// communicator). Wrapped here, once, rather than in every method; with nobody watching a
// call pays one atomic read.
for (const name of ["barrier", "bcast", "scatter", "gather", "allgather", "reduce", "allreduce", "alltoall", "scan", "split"] as const) {
  const proto = Communicator.prototype as unknown as Record<string, (this: Communicator, ...a: unknown[]) => Promise<unknown>>;
  const run = proto[name]!;
  proto[name] = function (this: Communicator, ...a: unknown[]) {
    return timedOnThread("collective", name, ownerOf(this.job), `${this.jobRank} ${this.rank}/${this.size}`, () => run.apply(this, a));
  };
}
