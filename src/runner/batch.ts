import type { CallOutcome, CallTask } from "./task.ts";

// A batch crosses between the runner's main thread and a worker as one message of
// flat arrays plus one byte arena: structured-cloning hundreds of small objects and
// views, or transferring hundreds of tiny buffers, costs more than the calls.

/** Byte arrays at least this big travel as their own transferred buffer, not in the arena. */
const OWN_BUFFER_MIN = 64 * 1024;

interface Packed {
  arena: Uint8Array;
  /** Per segment: offset in the arena, or -1 - index into `own`. */
  offsets: number[];
  lengths: number[];
  /** Per item: how many segments it has. */
  counts: number[];
  own: Uint8Array[];
}

export interface TaskBatch extends Packed {
  ids: number[];
  paths: string[];
  names: string[];
}

export interface OutcomeBatch extends Packed {
  ids: number[];
  ok: boolean[];
  micros: number[];
  /** Modules the worker imported for the first time during the batch. */
  loads: number;
}

/**
 * @param moveBig for each item, whether its big segments may be moved as they are
 *   (the caller owns them) rather than copied.
 */
function pack(items: readonly Uint8Array[][], moveBig: (i: number) => boolean): { packed: Packed; transfer: ArrayBuffer[] } {
  let total = 0;
  for (const segs of items) for (const s of segs) if (s.byteLength < OWN_BUFFER_MIN) total += (s.byteLength + 7) & ~7;
  const arena = new Uint8Array(total);
  // Cloning a small arena is cheaper than transferring it (a transfer detaches and
  // re-wraps the backing store); a big one moves.
  const transfer: ArrayBuffer[] = total >= OWN_BUFFER_MIN ? [arena.buffer] : [];
  const offsets: number[] = [];
  const lengths: number[] = [];
  const counts: number[] = [];
  const own: Uint8Array[] = [];
  let at = 0;
  items.forEach((segs, i) => {
    counts.push(segs.length);
    for (const s of segs) {
      lengths.push(s.byteLength);
      if (s.byteLength >= OWN_BUFFER_MIN) {
        // Copy unless owned: the original may be memory someone still uses (a socket
        // chunk, a user's array) and a transfer would detach it.
        const moved = moveBig(i) ? s : s.slice();
        if (!transfer.includes(moved.buffer as ArrayBuffer)) transfer.push(moved.buffer as ArrayBuffer);
        offsets.push(-1 - own.length);
        own.push(moved);
      } else {
        arena.set(s, at);
        offsets.push(at);
        at += (s.byteLength + 7) & ~7; // 8-aligned, so typed arrays can view in place
      }
    }
  });
  return { packed: { arena, offsets, lengths, counts, own }, transfer };
}

function unpack(p: Packed): Uint8Array[][] {
  const out: Uint8Array[][] = [];
  let k = 0;
  for (const n of p.counts) {
    const segs: Uint8Array[] = new Array<Uint8Array>(n);
    for (let j = 0; j < n; j++, k++) {
      const off = p.offsets[k]!;
      segs[j] = off >= 0 ? p.arena.subarray(off, off + p.lengths[k]!) : p.own[-1 - off]!;
    }
    out.push(segs);
  }
  return out;
}

export function packTasks(tasks: readonly CallTask[], owned: (i: number) => boolean): { batch: TaskBatch; transfer: ArrayBuffer[] } {
  const { packed, transfer } = pack(tasks.map((t) => t.segments), owned);
  return {
    batch: { ...packed, ids: tasks.map((t) => t.id), paths: tasks.map((t) => t.modulePath), names: tasks.map((t) => t.exportName) },
    transfer,
  };
}

export function unpackTasks(b: TaskBatch): CallTask[] {
  return unpack(b).map((segments, i) => ({ id: b.ids[i]!, modulePath: b.paths[i]!, exportName: b.names[i]!, segments }));
}

export function packOutcomes(outcomes: readonly CallOutcome[], loads: number): { batch: OutcomeBatch; transfer: ArrayBuffer[] } {
  const { packed, transfer } = pack(outcomes.map((o) => o.segments), () => false);
  return {
    batch: { ...packed, ids: outcomes.map((o) => o.id), ok: outcomes.map((o) => o.ok), micros: outcomes.map((o) => o.execMicros), loads },
    transfer,
  };
}

export function unpackOutcomes(b: OutcomeBatch): CallOutcome[] {
  return unpack(b).map((segments, i) => ({ id: b.ids[i]!, ok: b.ok[i]!, execMicros: b.micros[i]!, segments }));
}
