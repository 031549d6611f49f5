import { ProtocolError } from "../errors.ts";
import { BATCH_BYTES, BATCH_MAX } from "./call-batch.ts";
import { headerPackr, T, type Message } from "./messages.ts";
import { BatchBodies } from "./batch-bodies.ts";

// The graph calls of one event-loop turn in one frame (T.GraphCalls, driver -> a runner
// thread's lane), as T.Calls carries plain calls: calls that read objects or keep their
// result, when every input came back to the driver inline (a small result, the common case
// in a graph) as one segment, and the arguments are one small body.
//
// Why: each `f.ref()` call of a graph had a Call frame of its own, whose header (deps as a
// list of [id, null, n] lists, the keep id) msgpackr packed on the driver and unpacked and the
// message table checked on the runner, with a segment list and views per input. Profiled on
// the 1,000-task graph of bench/dag.ts (driver --cpu-prof, 80 reps, against plain calls
// chained by promises): callFrame, the header's pack and the outbox's per-frame copy were
// ~5 µs of the driver's ~20 µs per task over a plain call (docs/decisions.md, "Graphs: their
// calls batched per turn").

/** Flags of an entry of T.GraphCalls. */
export const GRAPH_KEEP = 1;

/** An input sent inline: its object id and its value (encoded, one segment). */
export type InlineInput = [objectId: string, segments: Uint8Array[]];

/** Graph calls gathered for one frame. */
export class GraphCallBatch {
  private ints: number[] = [];
  private objects: string[] = [];
  private readonly bodies = new BatchBodies();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Whether `bytes` more (arguments and inputs) would make the batch too big: send it first. */
  full(bytes: number): boolean {
    return this.count >= BATCH_MAX || this.bodies.used + bytes > BATCH_BYTES;
  }

  /** A call: its id, module ref, export name, keep id (an `f.ref()` call) and arguments; then `inputs` calls of `input`. */
  call(id: number, moduleRef: number, exportName: string, keep: string | undefined, args: Uint8Array, inputs: number): void {
    this.ints.push(id, moduleRef, this.bodies.nameIndex(exportName), keep === undefined ? 0 : GRAPH_KEEP, args.byteLength, inputs);
    if (keep !== undefined) this.objects.push(keep);
    this.bodies.append(args);
    this.count++;
  }

  /** One input of the call just begun, in the order its arguments name them. */
  input(objectId: string, value: Uint8Array): void {
    this.ints.push(value.byteLength);
    this.objects.push(objectId);
    this.bodies.append(value);
  }

  /**
   * The frame, for Connection.send at once (its header is a view of msgpackr's buffer, its
   * bodies one of this batch's: the outbox copies both before anything else is packed or
   * batched). The batch is empty afterwards.
   */
  take(): Uint8Array[] {
    const header: Message<T.GraphCalls> = [T.GraphCalls, this.bodies.names(), this.ints, this.objects];
    const frame = [headerPackr.pack(header) as Uint8Array, this.bodies.view()];
    this.ints = [];
    this.objects = [];
    this.bodies.clear();
    this.count = 0;
    return frame;
  }
}

/**
 * Each call of a T.GraphCalls frame (whose header readHeader checked), in order: its
 * arguments and inputs are views of the frame. The whole frame is checked before the first
 * call is handed on: a malformed one runs none of them.
 */
export function readGraphCalls(
  h: Message<T.GraphCalls>,
  segs: readonly Uint8Array[],
  each: (id: number, moduleRef: number, exportName: string, args: Uint8Array, keep: string | undefined, inline: InlineInput[] | undefined) => void,
): void {
  const [, names, ints, objects] = h;
  const bodies = segs[1];
  if (segs.length !== 2 || bodies === undefined) throw new ProtocolError("malformed GraphCalls: one segment of bodies expected");
  let total = 0;
  let ids = 0;
  for (let i = 0; i < ints.length;) {
    if (i + 6 > ints.length) throw new ProtocolError("malformed GraphCalls: a call's entry is cut short");
    if (names[ints[i + 2]!] === undefined) throw new ProtocolError("malformed GraphCalls: an export name index out of range");
    const flags = ints[i + 3]!;
    if (flags !== 0 && flags !== GRAPH_KEEP) throw new ProtocolError("malformed GraphCalls: unknown flags");
    const argBytes = ints[i + 4]!;
    const inputs = ints[i + 5]!;
    if (argBytes < 1 || inputs < 0) throw new ProtocolError("malformed GraphCalls: a call without arguments, or a negative input count");
    if (i + 6 + inputs > ints.length) throw new ProtocolError("malformed GraphCalls: a call's inputs are cut short");
    total += argBytes;
    for (let k = 0; k < inputs; k++) {
      const n = ints[i + 6 + k]!;
      if (n < 1) throw new ProtocolError("malformed GraphCalls: an input is empty");
      total += n;
    }
    ids += flags + inputs;
    i += 6 + inputs;
  }
  if (total !== bodies.byteLength) throw new ProtocolError(`malformed GraphCalls: its entries name ${total} bytes of bodies, the frame has ${bodies.byteLength}`);
  if (ids !== objects.length) throw new ProtocolError(`malformed GraphCalls: its entries name ${ids} objects, the frame has ${objects.length}`);
  let at = 0;
  let o = 0;
  for (let i = 0; i < ints.length;) {
    const keep = ints[i + 3] === GRAPH_KEEP ? objects[o++] : undefined;
    const inputs = ints[i + 5]!;
    const args = bodies.subarray(at, (at += ints[i + 4]!));
    let inline: InlineInput[] | undefined;
    if (inputs > 0) {
      inline = new Array<InlineInput>(inputs);
      for (let k = 0; k < inputs; k++) inline[k] = [objects[o++]!, [bodies.subarray(at, (at += ints[i + 6 + k]!))]];
    }
    each(ints[i]!, ints[i + 1]!, names[ints[i + 2]!]!, args, keep, inline);
    i += 6 + inputs;
  }
}
