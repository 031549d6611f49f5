import { STATUS_BYTES, STATUS_CANCELLED, STATUS_COUNT, STATUS_ERROR, STATUS_IGNORE, STATUS_SOURCE, STATUS_TAG } from "./abi.ts";
import type { Call } from "./call.ts";
import type { Span } from "./memory.ts";
import type { Completion } from "./messages.ts";

// MPI_Status as mpi.h lays it out (abi.ts): MPI_SOURCE, MPI_TAG, MPI_ERROR, then the received
// size in bytes (MPI_Get_count divides it by the type's extent) and the cancelled flag.

export interface StatusFields {
  readonly source: number;
  readonly tag: number;
  readonly bytes: number;
  readonly cancelled?: boolean;
}

/** The status argument checked (n of them for an array), or undefined for MPI_STATUS(ES)_IGNORE. */
export function statusSpan(c: Call, ptr: number, n = 1): Span | undefined {
  if (ptr >>> 0 === STATUS_IGNORE) return undefined;
  return c.span("status", ptr, STATUS_BYTES * n);
}

export function writeStatus(c: Call, s: Span | undefined, f: StatusFields, index = 0): void {
  if (s === undefined) return;
  const base = s.ptr + index * STATUS_BYTES;
  const at = (off: number, v: number) => c.setInt(base + off, v, "status");
  at(STATUS_SOURCE, f.source);
  at(STATUS_TAG, f.tag);
  at(STATUS_ERROR, 0);
  at(STATUS_COUNT, f.bytes);
  at(STATUS_CANCELLED, f.cancelled === true ? 1 : 0);
}

/** The status of a finished request: a receive's envelope, or an empty one for a send. */
export function completionStatus(done: Completion): StatusFields {
  const r = done.received;
  return r === undefined ? { source: -1, tag: -1, bytes: 0, cancelled: done.cancelled } : { source: r.source, tag: r.tag, bytes: r.data.byteLength, cancelled: done.cancelled };
}

/** The received size in bytes a status records (MPI_Get_count, MPI_Get_elements). */
export function statusBytes(c: Call, ptr: number): number {
  return c.int((ptr >>> 0) + STATUS_COUNT, "status");
}

export function statusCancelled(c: Call, ptr: number): boolean {
  return c.int((ptr >>> 0) + STATUS_CANCELLED, "status") !== 0;
}
