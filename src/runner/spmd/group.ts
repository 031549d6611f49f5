// What a collective algorithm sees: its ranks (numbered in the communicator) and messages
// that belong to this one collective call (a tag of their own), so algorithms read as the
// textbook versions do.

export interface Group {
  readonly rank: number;
  readonly size: number;
  send(to: number, value: unknown): Promise<void>;
  recv<T>(from: number): Promise<T>;
  /**
   * A received typed array's memory may be read into again (see frame-pool.ts): call it only
   * after the last use of a value that never leaves the algorithm (not returned, no send of
   * it still pending).
   */
  release(value: unknown): void;
}

/**
 * Messages of at least this many bytes take the bandwidth-optimal algorithms (rings,
 * pipelined chains); smaller ones take the latency-optimal trees (log2(size) steps).
 */
export const LARGE_BYTES = 64 * 1024;

/** Pieces of a pipelined broadcast: small enough to overlap hops, big enough to amortize a message. */
export const CHUNK_BYTES = 4 * 1024 * 1024;

/** [start, end) of segment i when n elements are cut into `parts` nearly equal segments. */
export function segment(n: number, parts: number, i: number): [number, number] {
  const base = Math.floor(n / parts);
  const extra = n % parts;
  const start = i * base + Math.min(i, extra);
  return [start, start + base + (i < extra ? 1 : 0)];
}

/** Rank numbering relative to a root (the root is 0), and back. */
export const relative = (rank: number, root: number, size: number): number => (rank - root + size) % size;
export const absolute = (vr: number, root: number, size: number): number => (vr + root) % size;
