import { ProtocolError } from "../errors.ts";
import { BIG_SEGMENT } from "../transport/outbox.ts";
import { headerPackr, T, type Message } from "./messages.ts";
import { BatchBodies } from "./batch-bodies.ts";

// Many small calls in one frame (T.Calls, driver -> a runner thread's lane), and many
// results in one frame (T.Results, the thread -> the driver): one header, one msgpack pass
// over it, one segment holding every entry's encoded body back to back, and one set of frame
// bookkeeping for all the calls or results of an event-loop turn, instead of one per call.
// Each entry is four integers in one flat list, its body's length last.
//
// Why: in a burst of 100,000 no-op calls each side framed, packed and read one header per
// call each way, and allocated per frame a header array, a segment list, views and a
// DataView (msgpackr makes one for each buffer it reads): docs/decisions.md, "One burst:
// calls and results batched per turn".

/** Entries a batch holds at most: then it is sent, and a new one begins. */
export const BATCH_MAX = 1024;
/** Bodies a batch holds at most, in bytes (under the outbox's big segment: it copies the batch at once). */
export const BATCH_BYTES = BIG_SEGMENT - 1;
/** Only calls and results whose encoding is one body this small are batched: big values keep their own frames. */
export const BATCH_SEGMENT_MAX = 8 * 1024;

/** Flags of an entry of T.Results. */
export const RESULT_OK = 1;
export const RESULT_INLINE = 2;
export const RESULT_NOT_STARTED = 4;

/** Entries gathered for one frame: four integers each, their bodies copied side by side. */
export class FrameBatch {
  private ints: number[] = [];
  private readonly bodies = new BatchBodies();

  constructor(private readonly type: T.Calls | T.Results) {}

  get size(): number {
    return this.ints.length >> 2;
  }

  /** Whether a body of `bytes` more would make the batch too big: send it first. */
  full(bytes: number): boolean {
    return this.ints.length >= BATCH_MAX * 4 || this.bodies.used + bytes > BATCH_BYTES;
  }

  /** A call (T.Calls): its id, module ref, export name and encoded arguments (one body, no attachments). */
  call(id: number, moduleRef: number, exportName: string, args: Uint8Array): void {
    this.add(id, moduleRef, this.bodies.nameIndex(exportName), args);
  }

  /** A result (T.Results): the call's id, its flags (RESULT_*), its run time and its body. */
  result(id: number, flags: number, execMicros: number, body: Uint8Array): void {
    this.add(id, flags, Math.round(execMicros), body);
  }

  private add(a: number, b: number, c: number, body: Uint8Array): void {
    this.bodies.append(body);
    this.ints.push(a, b, c, body.byteLength);
  }

  /**
   * The frame, for Connection.send at once: its header is a view of msgpackr's buffer and
   * its bodies one of this batch's, both copied by the outbox before anything else is packed
   * or batched. The batch is empty afterwards.
   */
  take(): Uint8Array[] {
    const header = (this.type === T.Calls ? [T.Calls, this.bodies.names(), this.ints] : [T.Results, this.ints]) as Message<T.Calls | T.Results>;
    const frame = [headerPackr.pack(header) as Uint8Array, this.bodies.view()];
    this.ints = [];
    this.bodies.clear();
    return frame;
  }
}

/** Checks a batch against its frame: entries of four integers, bodies of one byte or more filling its one segment. */
function bodiesOf(ints: readonly number[], segs: readonly Uint8Array[], name: string): Uint8Array {
  if (ints.length % 4 !== 0) throw new ProtocolError(`malformed ${name}: entries of four integers expected`);
  const bodies = segs[1];
  if (segs.length !== 2 || bodies === undefined) throw new ProtocolError(`malformed ${name}: one segment of bodies expected`);
  let total = 0;
  for (let i = 3; i < ints.length; i += 4) {
    const n = ints[i]!;
    if (n < 1) throw new ProtocolError(`malformed ${name}: an entry's body is empty`);
    total += n;
  }
  if (total !== bodies.byteLength) throw new ProtocolError(`malformed ${name}: its entries name ${total} bytes of bodies, the frame has ${bodies.byteLength}`);
  return bodies;
}

/**
 * Each call of a T.Calls frame (whose header readHeader checked), in order: its arguments are
 * a view of the frame, bytes [at, at + length) of `bodies` (to be decoded in place: codec's decodeValueIn).
 */
export function readCalls(
  h: Message<T.Calls>,
  segs: readonly Uint8Array[],
  each: (id: number, moduleRef: number, exportName: string, args: Uint8Array, bodies: Uint8Array, at: number) => void,
): void {
  const [, names, ints] = h;
  const bodies = bodiesOf(ints, segs, "Calls");
  let at = 0;
  for (let i = 0; i < ints.length; i += 4) {
    const name = names[ints[i + 2]!];
    if (name === undefined) throw new ProtocolError("malformed Calls: an export name index out of range");
    const n = ints[i + 3]!;
    each(ints[i]!, ints[i + 1]!, name, bodies.subarray(at, at + n), bodies, at);
    at += n;
  }
}

/**
 * Each result of a T.Results frame (whose header readHeader checked), in order: its body is
 * bytes [start, end) of `bodies`, a view of the frame (decoded in place: codec's decodeValueIn).
 */
export function readResults(
  h: Message<T.Results>,
  segs: readonly Uint8Array[],
  each: (id: number, flags: number, execMicros: number, bodies: Uint8Array, start: number, end: number) => void,
): void {
  const ints = h[1];
  const bodies = bodiesOf(ints, segs, "Results");
  let at = 0;
  for (let i = 0; i < ints.length; i += 4) {
    const flags = ints[i + 1]!;
    if (flags < 0 || flags > 7) throw new ProtocolError("malformed Results: unknown flags");
    const start = at;
    at += ints[i + 3]!;
    each(ints[i]!, flags, ints[i + 2]!, bodies, start, at);
  }
}
