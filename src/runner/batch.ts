import { threadId } from "node:worker_threads";
import { isHandedOff } from "../handoff.ts";
import { sharedPool } from "./snapshot-pool.ts";
import type { CallOutcome, CallTask } from "./task.ts";
import type { OutcomeBatch, PackedSegments, TaskBatch } from "./thread-messages.ts";

// A batch crosses between the runner's main thread and a worker as one message of
// flat arrays plus one byte arena: structured-cloning hundreds of small objects and
// views, or transferring hundreds of tiny buffers, costs more than the calls.

/** Byte arrays at least this big travel as their own transferred buffer, not in the arena. */
const OWN_BUFFER_MIN = 64 * 1024;

/**
 * @param moveBig for each item, whether its big segments may be moved as they are
 *   (the caller owns them) rather than copied.
 * @param fromWorker packing on a worker thread: big bytes go into SharedArrayBuffers
 *   and nothing is transferred. Detaching even one ArrayBuffer (which a transfer does)
 *   makes V8 add detach checks to every typed-array loop in that thread for the rest of
 *   its life: measured, a matmul kernel ran ~35% slower afterwards.
 */
function pack(items: readonly Uint8Array[][], moveBig: (i: number) => boolean, fromWorker: boolean): { packed: PackedSegments; transfer: ArrayBuffer[] } {
  const alloc = (n: number): Uint8Array => (fromWorker && n >= OWN_BUFFER_MIN ? new Uint8Array(new SharedArrayBuffer(n)) : new Uint8Array(n));
  let total = 0;
  for (const segs of items) for (const s of segs) if (s.byteLength < OWN_BUFFER_MIN) total += (s.byteLength + 7) & ~7;
  const arena = alloc(total);
  // Cloning a small arena is cheaper than transferring it (a transfer detaches and
  // re-wraps the backing store); a big one moves (from the main thread) or is shared.
  const transfer: ArrayBuffer[] = !fromWorker && total >= OWN_BUFFER_MIN ? [arena.buffer as ArrayBuffer] : [];
  const offsets: number[] = [];
  const lengths: number[] = [];
  const counts: number[] = [];
  const own: Uint8Array[] = [];
  let lent: number[] | undefined;
  let at = 0;
  items.forEach((segs, i) => {
    counts.push(segs.length);
    for (const s of segs) {
      lengths.push(s.byteLength);
      if (s.byteLength >= OWN_BUFFER_MIN) {
        offsets.push(-1 - own.length);
        if (fromWorker) {
          if (isHandedOff(s)) {
            own.push(s); // handed over by the call (src/handoff.ts): nobody changes it, no copy
            continue;
          }
          // The user's code may keep and change the original. Big copies come from the
          // thread's pool, and the main thread gives them back once written.
          const copy = sharedPool.snapshot(s);
          if (sharedPool.pooled(copy)) (lent ??= []).push(own.length);
          own.push(copy);
          continue;
        }
        if (s.buffer instanceof SharedArrayBuffer) {
          own.push(s); // shared memory (a big frame, a stored object): the worker sees it in place
          continue;
        }
        // Copy unless owned: the original may be memory someone still uses (a socket
        // chunk) and a transfer would detach it.
        const moved = moveBig(i) ? s : s.slice();
        if (!transfer.includes(moved.buffer as ArrayBuffer)) transfer.push(moved.buffer as ArrayBuffer);
        own.push(moved);
      } else {
        arena.set(s, at);
        offsets.push(at);
        at += (s.byteLength + 7) & ~7; // 8-aligned, so typed arrays can view in place
      }
    }
  });
  const packed: PackedSegments = { arena, offsets, lengths, counts, own };
  if (lent !== undefined) packed.lent = lent;
  return { packed, transfer };
}

function unpack(p: PackedSegments): Uint8Array[][] {
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
  const { packed, transfer } = pack(tasks.map((t) => t.segments), owned, false);
  return {
    batch: {
      ...packed, ids: tasks.map((t) => t.id), paths: tasks.map((t) => t.modulePath), names: tasks.map((t) => t.exportName),
      deps: tasks.map((t) => t.deps ?? null),
      cancellable: tasks.length === 1 && tasks[0]!.cancellable === true,
      ...(tasks.some((t) => t.quiet === true) ? { quiet: tasks.map((t) => t.quiet === true) } : {}),
      ...(tasks.some((t) => t.driver !== undefined) ? { drivers: tasks.map((t) => t.driver ?? null) } : {}),
    },
    transfer,
  };
}

export function unpackTasks(b: TaskBatch): CallTask[] {
  return unpack(b).map((segments, i) => {
    const deps = b.deps[i];
    const driver = b.drivers?.[i];
    return {
      id: b.ids[i]!, modulePath: b.paths[i]!, exportName: b.names[i]!, segments, ...(deps ? { deps } : {}), ...(b.cancellable ? { cancellable: true } : {}),
      ...(typeof driver === "string" ? { driver } : {}),
    };
  });
}

/** Packs a worker's results: nothing to transfer (see `pack`), big bytes in shared memory. */
export function packOutcomes(outcomes: readonly CallOutcome[], loads: number): OutcomeBatch {
  const { packed } = pack(outcomes.map((o) => o.segments), () => false, true);
  return {
    ...packed, ids: outcomes.map((o) => o.id), ok: outcomes.map((o) => o.ok), micros: outcomes.map((o) => o.execMicros),
    starts: outcomes.map((o) => o.startedAt ?? 0), thread: threadId, loads,
  };
}

export function unpackOutcomes(b: OutcomeBatch): CallOutcome[] {
  const lent = b.lent === undefined ? undefined : new Set(b.lent.map((k) => b.own[k]!));
  return unpack(b).map((segments, i) => {
    const o: CallOutcome = { id: b.ids[i]!, ok: b.ok[i]!, execMicros: b.micros[i]!, segments, thread: b.thread };
    if (b.starts[i] !== 0) o.startedAt = b.starts[i]!;
    if (lent !== undefined) {
      const mine = segments.filter((s) => lent.has(s)).map((s) => s.buffer as SharedArrayBuffer);
      if (mine.length > 0) o.lent = mine;
    }
    return o;
  });
}
