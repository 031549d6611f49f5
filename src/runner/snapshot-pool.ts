// The copies a thread takes of the big results it sends. A result's bytes must be those it
// had when its function returned, but its function may keep the array and change it in its
// next call while the socket is still sending (a reused output buffer): so a result is
// copied before it is sent (unless handed off, src/handoff.ts). The copy never reaches user
// code: once the socket has handed it to the kernel nobody reads it, and its memory can take
// the next result's copy. Fresh memory costs page faults on first touch (measured on a
// runner VM: 3-4 ms per fresh MB); reused memory does not.
//
// Safety: a buffer goes back to its pool only by `release`, which is called once the socket's
// write callback has fired (Connection.flushed): on a lane by the thread itself; for the
// results of the main link's calls, by the main thread, which sends the buffer back to the
// worker that lent it (ReturnBuffers). A copy that goes anywhere else (into the object store:
// a kept result) is never released, and its memory is the garbage collector's, as before.

/** Results at least this big are copied into pooled memory; smaller ones get fresh memory. */
export const POOL_MIN = 1 << 20;
/** Pooled bytes a thread keeps idle, at most. */
const KEEP_BYTES = 256 << 20;
/** Idle buffers are let go after this long without a take (memory goes back to the OS). */
const IDLE_MS = 5_000;

const classOf = (n: number): number => 2 ** Math.ceil(Math.log2(n));

/** Buffers by size class (a power of two): a class's untouched tail costs no memory. */
export class SnapshotPool<B extends ArrayBuffer | SharedArrayBuffer> {
  private readonly free = new Map<number, B[]>();
  private kept = 0;
  private idle: NodeJS.Timeout | undefined;
  /** Counts, for tests. */
  readonly stats = { taken: 0, reused: 0, released: 0 };

  constructor(private readonly make: (size: number) => B) {}

  /** A copy of `bytes` in memory of its own: pooled when big, until `release`. */
  snapshot(bytes: Uint8Array): Uint8Array {
    if (bytes.byteLength < POOL_MIN) {
      const out = new Uint8Array(this.make(bytes.byteLength));
      out.set(bytes);
      return out;
    }
    this.stats.taken++;
    const size = classOf(bytes.byteLength);
    const buf = this.free.get(size)?.pop();
    if (buf !== undefined) {
      this.kept -= size;
      this.stats.reused++;
    }
    const out = new Uint8Array(buf ?? this.make(size), 0, bytes.byteLength);
    out.set(bytes);
    this.armIdle();
    return out;
  }

  /** Whether `copy` came from this pool (and may go back to it). */
  pooled(copy: Uint8Array): boolean {
    return copy.byteLength >= POOL_MIN && copy.byteOffset === 0 && copy.buffer.byteLength === classOf(copy.byteLength);
  }

  /** Gives a pooled buffer back, once nothing reads it (the socket wrote it). */
  release(buf: B): void {
    const size = buf.byteLength;
    if (size < POOL_MIN || size !== classOf(size) || this.kept + size > KEEP_BYTES) return;
    this.stats.released++;
    let list = this.free.get(size);
    if (list === undefined) this.free.set(size, (list = []));
    list.push(buf);
    this.kept += size;
  }

  private armIdle(): void {
    if (this.idle !== undefined) {
      this.idle.refresh();
      return;
    }
    this.idle = setTimeout(() => {
      this.idle = undefined;
      this.free.clear();
      this.kept = 0;
    }, IDLE_MS);
    this.idle.unref();
  }
}

/** A lane's result copies: sent by this thread. */
export const lanePool = new SnapshotPool((n) => new ArrayBuffer(n));
/** A worker's result copies for the main thread: shared memory, which crosses without a copy. */
export const sharedPool = new SnapshotPool((n) => new SharedArrayBuffer(n));
