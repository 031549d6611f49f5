import { BroadcastChannel } from "node:worker_threads";
import { decodeValue } from "../../protocol/codec.ts";
import { rawValue, RAW_NONE } from "./raw-binary.ts";
import type { Envelope } from "./mailbox.ts";
import { pairBuffer, Ring, waitAsync } from "./shm-ring.ts";
import { unzeroed } from "../../transport/unzeroed.ts";

// Ranks on other threads of the same runner process talk through shared memory: one
// SharedArrayBuffer per pair of ranks, allocated once per job when the table arrives (the
// lower rank makes it and hands it over on a BroadcastChannel, the only message that
// channel carries), holding a ring per direction. A message is a record streamed through
// the ring: the sender copies it in as space frees, the receiver copies it out into the
// value's own memory as it arrives, so a message of any size crosses with one copy on
// each side, overlapped, and no memory is allocated per message but the value's.
//
// Waking: a rank that waits for a message from a rank on another thread (a blocking recv,
// a send whose ring is full) drives the rings itself (MPI's progress engine): it polls,
// then blocks in Atomics.wait on the ring's counter, for as long as the bytes keep moving,
// so a message reaches its receiver without a trip through either event loop. Otherwise an
// Atomics.waitAsync per ring wakes the event loop when bytes arrive (irecv, probe, a rank
// busy computing), so nothing ever waits on the polling.
//
// Measured (2 ranks on one runner, 2 threads, 2-CPU VM): the BroadcastChannel this replaced
// took 146-148 µs for an 8 B round trip (a structured clone and an event-loop wake-up each
// way) and moved 64 MiB at 325 MB/s (a fresh SharedArrayBuffer per message); this path,
// ranks bound, 13.7 µs at load average 25 (docs/decisions.md, "Ranks as mpirun places them").

/** Bytes of each direction's ring: a 64 MiB message streams through in pieces this big. */
const RING_BYTES = 4 * 1024 * 1024;
/** Records up to this size go into the ring in one write (one publication, one wake-up). */
const GATHER_MAX = 16 * 1024;
/**
 * A bound rank (a CPU of its own) polls this long after the last byte moved before it
 * blocks, as MPI's ranks poll: a peer that answers within it is seen without a futex wake,
 * which on a loaded VM waits for the scheduler. Unbound, it blocks at once: two unbound
 * rank threads were seen sharing one CPU, each hop then waiting out the other's polling
 * (8 B round trip 700 µs with 300 µs of polling, 76 µs with 10 µs, load average 15).
 */
const SPIN_MS = 1;
/**
 * The polling adapts (as adaptive mutexes and MPI progress engines do): a wait that polling
 * ended, or that polling for the whole SPIN_MS would have ended, doubles the budget back
 * towards SPIN_MS; a wait longer than SPIN_MS (polling could not have caught it) halves it,
 * down to this. A peer that answers within µs, or a 1 MiB echo within a millisecond, is
 * caught polling; one that computes, or lost its CPU to other processes (a loaded machine,
 * `yes` hogs beside the ranks), is not, and then the poller gives its CPU back after 50 µs
 * instead of 1 ms. (Halving on every wait that blocked shrank the budget below a 1 MiB echo's
 * time: 1 MiB ping-pong 541-1,508 MB/s against 1,333-1,620 with a fixed 1 ms, same run, load 12.)
 */
const SPIN_MIN_MS = 0.05;
/** Blocking slices while waiting, so a change on another ring (space freed) is seen too. */
const SLICE_MS = 0.2;
/**
 * Waiting synchronously stops after this long without a byte moving: the peer is busy or
 * waits on something else, and this thread's event loop (sockets, the driver's news,
 * other ranks on the thread) must not be held longer.
 */
const IDLE_MS = 2;

const pad8 = (n: number): number => (n + 7) & ~7;

/** Below this, a received value's memory is zeroed as any typed array's (too small to matter). */
const UNZEROED_MIN = 64 * 1024;

/**
 * A received value's memory. Big ones are not zeroed first (malloc, not calloc): every byte
 * is written from the ring before anyone sees it (the padding between segments explicitly),
 * and zeroing memory about to be overwritten was a third pass over it. Measured (64 MiB in a
 * worker thread, loaded 2-CPU VM, memory reused by malloc): calloc and copy 10.5-11.5 ms CPU,
 * malloc and copy 8.5-10 ms.
 */
function receiveMemory(size: number): Uint8Array {
  if (size < UNZEROED_MIN) return new Uint8Array(size);
  return unzeroed(size);
}


const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** Contexts as UTF-8, by context: a job has a few (two per communicator), each used for every message. */
const contextBytes = new Map<string, Uint8Array>();
const CONTEXTS_KEPT = 1024;

function utf8Of(context: string): Uint8Array {
  let b = contextBytes.get(context);
  if (b === undefined) {
    if (contextBytes.size >= CONTEXTS_KEPT) contextBytes.clear();
    contextBytes.set(context, (b = utf8.encode(context)));
  }
  return b;
}

/**
 * Where a record's header is written: one per thread, reused (a header array and a DataView
 * made per message were 5% of an 8 B round trip's CPU, the array's buffer materialized for
 * the view). Grown for a header that does not fit.
 */
let headOut = new Uint8Array(256);
let headOutView = new DataView(headOut.buffer);

/**
 * A record's header, into `headOut`; returns its length.
 * u32 headLen | u32 segments | f64 tag | u32 contextLen | u32 raw | u32 length × segments | context.
 * `raw`: RAW_NONE for a value in the codec's encoding (body, then attachments), else the
 * binary kind + 1 of a typed array, ArrayBuffer or DataView sent as its bytes alone, one
 * segment (raw-binary.ts).
 */
function recordHead(context: string, tag: number, segments: readonly Uint8Array[], raw: number): number {
  const ctx = utf8Of(context);
  const len = 24 + 4 * segments.length + ctx.byteLength;
  if (len > headOut.byteLength) {
    headOut = new Uint8Array(len * 2);
    headOutView = new DataView(headOut.buffer);
  }
  const v = headOutView;
  v.setUint32(0, len, true);
  v.setUint32(4, segments.length, true);
  v.setFloat64(8, tag, true);
  v.setUint32(16, ctx.byteLength, true);
  v.setUint32(20, raw, true);
  for (let i = 0; i < segments.length; i++) v.setUint32(24 + 4 * i, segments[i]!.byteLength, true);
  headOut.set(ctx, 24 + 4 * segments.length);
  return len;
}

/**
 * A message on its way into a ring: its parts, how far along, and its sender's promise,
 * made only when asked for (most small messages are in the ring before send returns, and
 * a promise per message was measurable in the 8 B round trip).
 */
export class Pending {
  part = 0;
  offset = 0;
  done = false;
  private failure: Error | undefined;
  private settle: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private made: Promise<void> | undefined;

  /**
   * `first`: nothing was queued to its destination before it: worth driving until it is in.
   * Behind others it is not (isend after isend to a busy peer would each wait out IDLE_MS:
   * 2,000 isends in a row took 1.5 s that way).
   */
  constructor(public parts: Uint8Array[], readonly total: number, readonly first: boolean) {}

  /** Settles once every byte is in the ring (or the job ended first). */
  get promise(): Promise<void> {
    return (this.made ??= new Promise<void>((resolve, reject) => {
      if (this.done) resolve();
      else if (this.failure !== undefined) reject(this.failure);
      else this.settle = { resolve, reject };
    }));
  }

  finish(): void {
    this.done = true;
    this.parts = [];
    this.settle?.resolve();
  }

  fail(err: Error): void {
    this.failure = err;
    this.settle?.reject(err);
  }
}

interface Outbound {
  ring: Ring | undefined;
  queue: Pending[];
  /** An Atomics.waitAsync on the ring's read counter is pending. */
  armed: boolean;
}

/** A message coming out of a ring: its header once read, and the value's memory being filled. */
interface Incoming {
  context: string;
  tag: number;
  /** RAW_NONE, or the binary kind + 1 of a value sent as its bytes (raw-binary.ts). */
  raw: number;
  segments: Uint8Array[];
  bytes: number;
  segment: number;
  offset: number;
}

interface Inbound {
  ring: Ring;
  current: Incoming | undefined;
}

interface Setup {
  pair: SharedArrayBuffer;
  from: number;
}

const channelName = (job: string, rank: number): string => `strand.spmd.${job}.${rank}`;

export class LocalLinks {
  private readonly control: BroadcastChannel;
  private readonly outbound = new Map<number, Outbound>();
  private readonly inbound = new Map<number, Inbound>();
  /** Where a record's header is read (grown as needed): its fields are parsed out, the header itself is not kept. */
  private head = new Uint8Array(256);
  private headView = new DataView(this.head.buffer);
  private lastContext: { bytes: Uint8Array; context: string } | undefined;
  private closed = false;
  /** This rank has a CPU of its own (bound): waiting may busy-poll. */
  private poll = false;
  /** How long a wait polls now before it blocks (see SPIN_MIN_MS). */
  private spinMs = SPIN_MS;

  constructor(private readonly job: string, private readonly rank: number, private readonly deliver: (m: Envelope) => void) {
    this.control = new BroadcastChannel(channelName(job, rank));
    this.control.unref();
    this.control.onmessage = (ev: unknown): void => {
      const s = (ev as { data: Setup }).data;
      this.attach(s.from, s.pair, 1);
    };
  }

  /**
   * The ranks on other threads of this process: the pairs this rank is the lower rank of get
   * their memory now; the others arrive from their lower rank (sends to them wait till then).
   */
  connect(peers: readonly number[], poll: boolean): void {
    this.poll = poll;
    for (const p of peers) {
      if (p < this.rank) {
        this.out(p);
        continue;
      }
      const pair = pairBuffer(RING_BYTES);
      const ch = new BroadcastChannel(channelName(this.job, p));
      ch.postMessage({ pair, from: this.rank } satisfies Setup);
      ch.close();
      this.attach(p, pair, 0);
    }
  }

  private out(dest: number): Outbound {
    let o = this.outbound.get(dest);
    if (o === undefined) this.outbound.set(dest, (o = { ring: undefined, queue: [], armed: false }));
    return o;
  }

  /** `dir`: the direction this rank writes (0 when it is the lower rank of the pair). */
  private attach(peer: number, pair: SharedArrayBuffer, dir: 0 | 1): void {
    if (this.closed || this.inbound.has(peer)) return;
    const inb: Inbound = { ring: new Ring(pair, dir === 0 ? 1 : 0), current: undefined };
    this.inbound.set(peer, inb);
    const o = this.out(peer);
    o.ring = new Ring(pair, dir);
    this.armInbound(inb);
    this.progress();
  }

  /** Whether a receive from `source` can be driven here (a rank on another thread, its memory attached). */
  drives(source: number): boolean {
    return this.inbound.has(source);
  }

  /**
   * Queues a message to `dest` and moves what fits now. Returns undefined once all of it is
   * in the ring (the caller's memory is free again), else its pending entry.
   */
  send(dest: number, context: string, tag: number, segments: readonly Uint8Array[], raw: number = RAW_NONE): Pending | undefined {
    const headLen = recordHead(context, tag, segments, raw);
    let total = headLen;
    for (const s of segments) total += s.byteLength;
    const o = this.out(dest);
    // The common case, a small message to a ring with room: in at once, nothing queued.
    if (o.queue.length === 0 && total <= GATHER_MAX && o.ring?.writeRecord(headOut, headLen, segments, total) === true) return undefined;
    const p = new Pending([headOut.slice(0, headLen), ...segments], total, o.queue.length === 0);
    o.queue.push(p);
    if (o.queue.length === 1) this.push(o, dest);
    return p.done ? undefined : p;
  }

  /** Drives both directions of every pair until `until()` holds or the bytes stop moving (see IDLE_MS). */
  drive(until: () => boolean, source?: number): void {
    const ring = source === undefined ? undefined : this.inbound.get(source)?.ring;
    const start = performance.now();
    let last = start;
    for (;;) {
      const seen = ring?.written ?? 0;
      const full = this.blocked();
      const seenFree = full?.seenConsumed ?? 0;
      if (this.progress()) last = performance.now();
      if (until() || this.closed) {
        if (this.poll) this.spinMs = performance.now() - start <= SPIN_MS ? Math.min(SPIN_MS, this.spinMs * 2) : Math.max(SPIN_MIN_MS, this.spinMs / 2);
        return;
      }
      const idle = performance.now() - last;
      if (idle > IDLE_MS) {
        if (this.poll) this.spinMs = Math.max(SPIN_MIN_MS, this.spinMs / 2);
        return;
      }
      // Polling only on a CPU of our own: sharing one, it would hold off the very peer it waits for.
      if (this.poll && idle < this.spinMs) continue;
      if (full !== undefined) Atomics.wait(full.counters, full.rIndex, seenFree, SLICE_MS);
      else if (ring !== undefined) Atomics.wait(ring.counters, ring.wIndex, seen, SLICE_MS);
      else return;
    }
  }

  /** The ring of a send waiting for room, if any. */
  private blocked(): Ring | undefined {
    for (const o of this.outbound.values()) if (o.queue.length > 0 && o.ring !== undefined) return o.ring;
    return undefined;
  }

  /** Moves whatever can move now, both ways; true if any byte did. */
  progress(): boolean {
    let moved = false;
    for (const [source, inb] of this.inbound) moved = this.drain(inb, source) || moved;
    for (const [dest, o] of this.outbound) if (o.queue.length > 0) moved = this.push(o, dest) || moved;
    return moved;
  }

  private push(o: Outbound, dest: number): boolean {
    const ring = o.ring;
    if (ring === undefined) return false;
    let moved = false;
    while (o.queue.length > 0) {
      const p = o.queue[0]!;
      if (p.part === 0 && p.offset === 0 && p.total <= GATHER_MAX && ring.writeAll(p.parts, p.total)) {
        moved = true;
        p.part = p.parts.length;
      }
      while (p.part < p.parts.length) {
        const part = p.parts[p.part]!;
        if (p.offset < part.byteLength) {
          const n = ring.write(p.offset === 0 ? part : part.subarray(p.offset));
          p.offset += n;
          moved ||= n > 0;
          if (p.offset < part.byteLength) {
            this.armOutbound(o, dest);
            return moved;
          }
        }
        p.part++;
        p.offset = 0;
      }
      o.queue.shift();
      p.finish();
    }
    return moved;
  }

  private drain(inb: Inbound, source: number): boolean {
    const ring = inb.ring;
    let moved = false;
    for (;;) {
      let m = inb.current;
      if (m === undefined) {
        const headLen = ring.peekU32();
        if (headLen === undefined || ring.used() < headLen) return moved;
        if (headLen > this.head.byteLength) {
          this.head = new Uint8Array(pad8(headLen) * 2);
          this.headView = new DataView(this.head.buffer);
        }
        ring.read(this.head.subarray(0, headLen));
        moved = true;
        m = inb.current = this.incoming();
      }
      while (m.segment < m.segments.length) {
        const s = m.segments[m.segment]!;
        if (m.offset < s.byteLength) {
          const n = ring.read(m.offset === 0 ? s : s.subarray(m.offset));
          m.offset += n;
          moved ||= n > 0;
          if (m.offset < s.byteLength) return moved;
        }
        m.segment++;
        m.offset = 0;
      }
      inb.current = undefined;
      let value: unknown;
      if (m.raw !== RAW_NONE) value = rawValue(m.raw, m.segments[0]!);
      else {
        const [body, ...attachments] = m.segments;
        value = decodeValue(body!, attachments);
      }
      this.deliver({ context: m.context, source, tag: m.tag, value, bytes: m.bytes });
    }
  }

  /** A record's header read (into `head`): the value's memory, one buffer with every segment 8-aligned (typed arrays view it in place). */
  private incoming(): Incoming {
    const v = this.headView;
    const n = v.getUint32(4, true);
    const tag = v.getFloat64(8, true);
    const ctxLen = v.getUint32(16, true);
    const raw = v.getUint32(20, true);
    const context = this.contextOf(this.head.subarray(24 + 4 * n, 24 + 4 * n + ctxLen));
    if (raw !== RAW_NONE) {
      // A binary value's bytes alone, read into memory of exactly their size: a Uint8Array is
      // the value itself, other kinds are made on its buffer (rawValue).
      const l = v.getUint32(24, true);
      return { context, tag, raw, segments: [receiveMemory(l)], bytes: l, segment: 0, offset: 0 };
    }
    let size = 0;
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const l = v.getUint32(24 + 4 * i, true);
      size += pad8(l);
      bytes += l;
    }
    const memory = receiveMemory(size);
    const segments: Uint8Array[] = [];
    for (let i = 0, at = 0; i < n; i++) {
      const l = v.getUint32(24 + 4 * i, true);
      segments.push(memory.subarray(at, at + l));
      if (l !== pad8(l)) memory.fill(0, at + l, at + pad8(l)); // the padding: every byte the user can see is written
      at += pad8(l);
    }
    return { context, tag, raw, segments, bytes, segment: 0, offset: 0 };
  }

  /** The context a record names: the previous one's string again when the bytes are the same (nearly always). */
  private contextOf(b: Uint8Array): string {
    const last = this.lastContext;
    if (last !== undefined && last.bytes.byteLength === b.byteLength) {
      let same = true;
      for (let i = 0; i < b.byteLength && same; i++) same = last.bytes[i] === b[i];
      if (same) return last.context;
    }
    const context = fromUtf8.decode(b);
    this.lastContext = { bytes: b.slice(), context };
    return context;
  }

  /** Wakes this thread's event loop when bytes arrive while no one drives the rings. */
  private armInbound(inb: Inbound): void {
    if (this.closed) return;
    const seen = inb.ring.written;
    this.progress();
    const w = waitAsync(inb.ring.counters, inb.ring.wIndex, seen);
    if (w.async) {
      void w.value.then(() => this.armInbound(inb));
    } else {
      setImmediate(() => this.armInbound(inb));
    }
  }

  /** A send waits for space: wake when the receiver takes bytes. */
  private armOutbound(o: Outbound, dest: number): void {
    if (this.closed || o.armed || o.ring === undefined) return;
    o.armed = true;
    const ring = o.ring;
    // The read counter as the failed write saw it: if the reader moved since, this returns at once.
    const w = waitAsync(ring.counters, ring.rIndex, ring.seenConsumed);
    const again = (): void => {
      o.armed = false;
      if (!this.closed && o.queue.length > 0) this.push(o, dest);
    };
    if (w.async) void w.value.then(again);
    else setImmediate(again);
  }

  /** The job ended or was aborted: pending sends fail with `err`; waiters are woken so they let go of the memory. */
  close(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.control.close();
    for (const inb of this.inbound.values()) Atomics.notify(inb.ring.counters, inb.ring.wIndex);
    for (const o of this.outbound.values()) {
      if (o.ring !== undefined) Atomics.notify(o.ring.counters, o.ring.rIndex);
      for (const p of o.queue.splice(0)) p.fail(err);
    }
  }
}
