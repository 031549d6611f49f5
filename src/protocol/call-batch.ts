import { ProtocolError } from "../errors.ts";
import { headerPackr, T, type Message } from "./messages.ts";

// Many small calls in one frame (T.Calls, driver -> a runner thread's lane), and many
// results in one frame (T.Results, the thread -> the driver): one header, one msgpack pass
// and one set of frame bookkeeping for all the calls or results of an event-loop turn,
// instead of one per call. Each entry is four integers in one flat list, and its segments
// (body, then attachments) follow the header in the order of the list.
//
// Why: in a burst of 100,000 no-op calls each side framed, packed and read one header per
// call each way, and allocated per frame (a header array, a segment list, views, a
// DataView): docs/decisions.md, "One burst: calls and results batched per turn".

/** Entries a batch holds at most (a frame's segment count is bounded: frames.ts). */
export const BATCH_MAX = 1024;
/** Bytes of segments a batch holds at most: it goes out in one write, as a tick's frames did. */
export const BATCH_BYTES = 256 * 1024;
/** Only calls and results this small (one segment, no attachments) are batched: big values keep their own frames. */
export const BATCH_SEGMENT_MAX = 16 * 1024;

/** Flags of an entry of T.Results. */
export const RESULT_OK = 1;
export const RESULT_INLINE = 2;
export const RESULT_NOT_STARTED = 4;

const NO_ATTACHMENTS: readonly Uint8Array[] = Object.freeze([]);

/** Entries gathered for one frame: four integers each, then their segments. */
export class FrameBatch {
  private ints: number[] = [];
  private segments: Uint8Array[] = [];
  private names: string[] | undefined;
  private bytes = 0;

  constructor(private readonly type: T.Calls | T.Results) {}

  get size(): number {
    return this.ints.length >> 2;
  }

  /** Whether adding `bytes` more would make the batch too big: send it first. */
  full(bytes: number): boolean {
    return this.ints.length >= BATCH_MAX * 4 || this.bytes + bytes > BATCH_BYTES;
  }

  /** A call (T.Calls): its id, module ref, export name and its one segment, the encoded arguments. */
  call(id: number, moduleRef: number, exportName: string, args: Uint8Array): void {
    const names = (this.names ??= []);
    let k = names.indexOf(exportName);
    if (k < 0) k = names.push(exportName) - 1;
    this.add(id, moduleRef, k, args);
  }

  /** A result (T.Results): the call's id, its flags (RESULT_*), its run time and its one segment. */
  result(id: number, flags: number, execMicros: number, body: Uint8Array): void {
    this.add(id, flags, Math.round(execMicros), body);
  }

  private add(a: number, b: number, c: number, segment: Uint8Array): void {
    this.ints.push(a, b, c, 1);
    this.segments.push(segment);
    this.bytes += segment.byteLength;
  }

  /**
   * The frame, for Connection.send at once (its header is a view of msgpackr's buffer, which
   * the outbox copies before anything else is packed); the batch is empty afterwards.
   */
  take(): Uint8Array[] {
    const header = (this.type === T.Calls ? [T.Calls, this.names ?? [], this.ints] : [T.Results, this.ints]) as Message<T.Calls | T.Results>;
    const frame = [headerPackr.pack(header) as Uint8Array, ...this.segments];
    this.ints = [];
    this.segments = [];
    this.names = undefined;
    this.bytes = 0;
    return frame;
  }
}

/** Checks a batch's entries against its frame: four integers each, segments adding up. */
function entries(ints: readonly number[], segs: readonly Uint8Array[], name: string): void {
  if (ints.length % 4 !== 0) throw new ProtocolError(`malformed ${name}: entries of four integers expected`);
  let total = 1;
  for (let i = 3; i < ints.length; i += 4) {
    const n = ints[i]!;
    if (n < 1) throw new ProtocolError(`malformed ${name}: an entry needs at least one segment`);
    total += n;
  }
  if (total !== segs.length) throw new ProtocolError(`malformed ${name}: its entries name ${total - 1} segments, the frame has ${segs.length - 1}`);
}

/** Each call of a T.Calls frame (whose header readHeader checked), in order: its segments are views of the frame. */
export function readCalls(
  h: Message<T.Calls>,
  segs: readonly Uint8Array[],
  each: (id: number, moduleRef: number, exportName: string, args: Uint8Array[]) => void,
): void {
  const [, names, ints] = h;
  entries(ints, segs, "Calls");
  let at = 1;
  for (let i = 0; i < ints.length; i += 4) {
    const name = names[ints[i + 2]!];
    if (name === undefined) throw new ProtocolError("malformed Calls: an export name index out of range");
    const n = ints[i + 3]!;
    each(ints[i]!, ints[i + 1]!, name, segs.slice(at, (at += n)));
  }
}

/** Each result of a T.Results frame (whose header readHeader checked), in order: body and attachments are views of the frame. */
export function readResults(
  h: Message<T.Results>,
  segs: readonly Uint8Array[],
  each: (id: number, flags: number, execMicros: number, body: Uint8Array, attachments: readonly Uint8Array[]) => void,
): void {
  const ints = h[1];
  entries(ints, segs, "Results");
  let at = 1;
  for (let i = 0; i < ints.length; i += 4) {
    const flags = ints[i + 1]!;
    if (flags < 0 || flags > 7) throw new ProtocolError("malformed Results: unknown flags");
    const n = ints[i + 3]!;
    const body = segs[at]!;
    each(ints[i]!, flags, ints[i + 2]!, body, n === 1 ? NO_ATTACHMENTS : segs.slice(at + 1, at + n));
    at += n;
  }
}
