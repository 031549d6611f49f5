import { JobAbortedError, SerializationError } from "../../errors.ts";
import { decodeValue, encodeValue } from "../../protocol/codec.ts";
import type { RankAddress } from "../../protocol/spmd-wire.ts";
import type { RankConfig } from "./config.ts";
import { FramePool } from "./frame-pool.ts";
import { LocalLinks } from "./local-links.ts";
import { Mailbox, type Envelope, type Receipt } from "./mailbox.ts";
import { RemoteLinks } from "./remote-links.ts";
import { rawOf, RAW_NONE } from "./raw-binary.ts";

/** A send that is complete: one promise for all of them (awaiting it costs the same). */
const RESOLVED = Promise.resolve();

// One rank's messaging: a send goes to itself, to a rank in the same runner process (memory),
// or to a rank on another runner (TCP); every arrival goes through the same mailbox. Ranks
// are numbered in the job here; communicators translate their own numbering.

/** The mailboxes of the ranks running on this thread, by job and rank. */
const onThisThread = new Map<string, Mailbox>();

export class Endpoint {
  private readonly local: LocalLinks;
  private table: RankAddress[] = [];
  private failure: Error | undefined;
  private readonly abortion = new AbortController();
  private readonly sending = new Set<(e: Error) => void>();
  /** This rank has a CPU of its own: a blocking receive may busy-poll (connect). */
  private polls = false;

  private constructor(readonly job: string, readonly rank: number, readonly size: number,
    private readonly mailbox: Mailbox, private readonly remote: RemoteLinks, private readonly pool: FramePool) {
    this.local = new LocalLinks(job, rank, (m) => this.mailbox.deliver(m));
    onThisThread.set(`${job}.${rank}`, this.mailbox);
  }

  /** Opens this rank's inbox (memory) and its server (TCP): the port goes to the driver. */
  static async open(job: string, rank: number, size: number, cfg: RankConfig): Promise<Endpoint> {
    const mailbox = new Mailbox();
    const pool = new FramePool(); // per job: its buffers go with the job
    const remote = await RemoteLinks.listen(job, rank, size, cfg, {
      deliver: (m) => mailbox.deliver(m),
      lost: (r, err) => mailbox.senderLost(r, err),
    }, pool);
    return new Endpoint(job, rank, size, mailbox, remote, pool);
  }

  get port(): number {
    return this.remote.port;
  }

  /**
   * Where every rank listens (from the driver); ranks whose runner is ours share memory.
   * `poll`: this rank has a CPU of its own, so waiting on a peer here may busy-poll.
   */
  connect(table: RankAddress[], poll = false): void {
    this.table = table;
    this.polls = poll;
    this.remote.setTable(table);
    const me = table[this.rank]!;
    this.local.connect(table.flatMap((a, r) => (r !== this.rank && a.runner === me.runner && a.thread !== me.thread ? [r] : [])), poll);
  }

  send(dest: number, context: string, tag: number, value: unknown): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const to = this.table[dest]!;
    const me = this.table[this.rank]!;
    if (to.runner !== me.runner) {
      // A binary value to another runner crosses as its bytes too (T.RankBytes): no codec on
      // either side (an encode and a decode of ~10-20 µs per message, measured, loaded).
      const r = rawOf(value);
      if (r !== undefined) return this.abortable(this.remote.sendBytes(dest, context, tag, r.raw, r.bytes));
    } else if (to.thread !== me.thread) {
      // A binary value to another thread of this process crosses as its bytes (raw-binary.ts).
      const r = rawOf(value);
      if (r !== undefined) return this.sendLocal(dest, context, tag, [r.bytes], r.raw);
    }
    let enc;
    try {
      enc = encodeValue(value, "value");
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (enc.refs !== undefined || enc.chans !== undefined) {
      return Promise.reject(new SerializationError("value", "holds a Ref or a channel: messages between ranks carry plain values"));
    }
    const segments = [enc.body, ...enc.attachments];
    if (to.runner === me.runner && to.thread === me.thread) {
      // Same thread (itself included): a copy, handed over directly.
      const bytes = segments.reduce((n, x) => n + x.byteLength, 0);
      onThisThread.get(`${this.job}.${dest}`)?.deliver({ context, source: this.rank, tag, value: decodeValue(enc.body, enc.attachments.map((a) => a.slice())), bytes });
      return Promise.resolve();
    }
    if (to.runner === me.runner) return this.sendLocal(dest, context, tag, segments, RAW_NONE);
    // Attachments are views of the caller's memory: wait until the kernel has them.
    return this.abortable(this.remote.send(dest, context, tag, segments, enc.attachments.length > 0));
  }

  /**
   * To another thread of this process: through the pair's ring. What does not fit yet is
   * pushed while the receiver takes it (drive), and the send returns once the caller's memory
   * is free again, as MPI_Send does.
   */
  private sendLocal(dest: number, context: string, tag: number, segments: readonly Uint8Array[], raw: number): Promise<void> {
    const p = this.local.send(dest, context, tag, segments, raw);
    if (p === undefined) return RESOLVED;
    if (p.first) this.local.drive(() => p.done);
    return p.done ? RESOLVED : this.abortable(p.promise);
  }

  /**
   * A received value's memory may be reused for later messages: only for a value no one
   * else holds a view of (a collective's own message, after its last use). Memory that is
   * not the receive pool's (same process, small messages) is left alone.
   */
  release(value: unknown): void {
    this.pool.release(value);
  }

  /** A send waiting on a socket fails when the job is aborted (its peer may never read it). */
  private abortable(p: Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.sending.add(reject);
      p.then(resolve, reject).finally(() => this.sending.delete(reject));
    });
  }

  /**
   * A blocking receive (recv, and every collective's): from a rank on another thread of this
   * process, this thread drives the ring itself until the message is in, without a hop
   * through the event loop (see LocalLinks.drive); from a rank on another runner, a rank
   * with a CPU of its own polls the socket (RemoteLinks.poll).
   */
  receive(context: string, source: number, tag: number): Promise<Envelope> {
    return this.waitFor(context, source, tag).promise;
  }

  /** As receive, the receipt itself: its `matched` is set already when the message came while this drove. */
  waitFor(context: string, source: number, tag: number): Receipt {
    const r = this.post(context, source, tag);
    if (!r.done && this.local.drives(source)) this.local.drive(() => r.done, source);
    else if (!r.done && this.polls && this.failure === undefined && this.onOtherRunner(source)) this.remote.poll(source, () => r.done);
    return r;
  }

  private onOtherRunner(rank: number): boolean {
    const to = this.table[rank];
    return to !== undefined && to.runner !== this.table[this.rank]?.runner;
  }

  /** A receive that can be tested and cancelled (irecv): what the rings hold already is matched first. */
  post(context: string, source: number, tag: number): Receipt {
    this.local.progress();
    return this.mailbox.post(context, source, tag);
  }

  probe(context: string, source: number, tag: number): Promise<Envelope> {
    this.local.progress();
    return this.mailbox.probe(context, source, tag);
  }

  peek(context: string, source: number, tag: number): Envelope | undefined {
    this.local.progress();
    return this.mailbox.peek(context, source, tag);
  }

  /**
   * The job was aborted: everything pending or later fails with `err`. The connections stay
   * open until the job ends (close): a peer that has not heard of the abort yet must not
   * mistake this rank's closing for its failure.
   */
  /**
   * Aborts (with the job's error as reason) when the job is aborted: for what runs beside the
   * rank's operations, like a Wasm rank's program computing on a thread of its own.
   */
  get aborted(): AbortSignal {
    return this.abortion.signal;
  }

  abort(err: Error): void {
    this.failure ??= err;
    if (!this.abortion.signal.aborted) this.abortion.abort(err);
    this.mailbox.fail(err);
    for (const reject of this.sending) reject(err);
    this.sending.clear();
  }

  /** The job ended (every rank settled): after an abort, unsent bytes are dropped. */
  close(): void {
    onThisThread.delete(`${this.job}.${this.rank}`);
    this.local.close(this.failure ?? new JobAbortedError(this.rank, "the rank's job ended"));
    this.remote.close(this.failure);
  }
}
