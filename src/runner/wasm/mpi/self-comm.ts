import { ANY, PROC_NULL, type Comm, type Message } from "../../../comm.ts";

// MPI_COMM_SELF: a communicator of this rank alone. Nothing crosses a thread, so it lives
// here rather than in runner/spmd: messages to itself queue until received, in order, and each
// collective returns this rank's own contribution.

export class SelfComm implements Comm {
  readonly rank = 0;
  readonly size = 1;
  private readonly queue: Message[] = [];
  private readonly waiting: { source: number; tag: number; resolve: (m: Message) => void }[] = [];

  private static matches(m: Message, source: number, tag: number): boolean {
    return (source === ANY || source === m.source) && (tag === ANY || tag === m.tag);
  }

  private check(r: number, what: string): void {
    if (r !== 0 && r !== ANY && r !== PROC_NULL) throw new RangeError(`${what} must be 0 in a communicator of one rank, got ${r}`);
  }

  send(dest: number, value: unknown, tag = 0): Promise<void> {
    if (dest === PROC_NULL) return Promise.resolve();
    this.check(dest, "send: dest");
    const m = { value, source: 0, tag };
    const w = this.waiting.findIndex((x) => SelfComm.matches(m, x.source, x.tag));
    if (w >= 0) this.waiting.splice(w, 1)[0]!.resolve(m);
    else this.queue.push(m);
    return Promise.resolve();
  }

  recv<T = unknown>(source = ANY, tag = ANY): Promise<Message<T>> {
    if (source === PROC_NULL) return Promise.resolve({ value: undefined as T, source: PROC_NULL, tag: ANY });
    this.check(source, "recv: source");
    const i = this.queue.findIndex((m) => SelfComm.matches(m, source, tag));
    if (i >= 0) return Promise.resolve(this.queue.splice(i, 1)[0] as Message<T>);
    return new Promise((resolve) => this.waiting.push({ source, tag, resolve: resolve as (m: Message) => void }));
  }

  isend(dest: number, value: unknown, tag?: number): Promise<void> {
    return this.send(dest, value, tag);
  }

  irecv<T = unknown>(source?: number, tag?: number): Promise<Message<T>> {
    return this.recv<T>(source, tag);
  }

  async sendrecv<T = unknown>(dest: number, value: unknown, source: number, sendTag = 0, recvTag = ANY): Promise<Message<T>> {
    await this.send(dest, value, sendTag);
    return this.recv<T>(source, recvTag);
  }

  /** The first queued message that matches, left in the queue (MPI_Iprobe). */
  peek(source: number, tag: number): Message | undefined {
    return this.queue.find((m) => SelfComm.matches(m, source, tag));
  }

  async barrier(): Promise<void> {}
  async bcast<T>(value: T | undefined): Promise<T> {
    return value as T;
  }
  async scatter<T>(values: readonly T[] | undefined): Promise<T> {
    return values![0]!;
  }
  async gather<T>(value: T): Promise<T[]> {
    return [value];
  }
  async allgather<T>(value: T): Promise<T[]> {
    return [value];
  }
  async reduce<T>(value: T): Promise<T> {
    return value;
  }
  async allreduce<T>(value: T): Promise<T> {
    return value;
  }
  async alltoall<T>(values: readonly T[]): Promise<T[]> {
    return [values[0]!];
  }
  async scan<T>(value: T): Promise<T> {
    return value;
  }
  async split(color: number): Promise<Comm | undefined> {
    return color < 0 ? undefined : new SelfComm();
  }
}
