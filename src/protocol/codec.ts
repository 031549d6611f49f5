import { Packr, addExtension } from "msgpackr";
import { BINARY_KINDS, binaryKindOf } from "./binary-kinds.ts";
import { ProtocolError, reviveStrandError, StrandError, type ErrorFields } from "../errors.ts";
import { Chan } from "./chan.ts";
import { ObjectRef } from "./object-ref.ts";
import { ActorRef } from "./actor-ref.ts";
import type { ActorAddress } from "./actor-wire.ts";
import { assertSerializable, isPlain, isShallow } from "./validate.ts";
import type { BodySlab } from "./body-slab.ts";
import { restoreZeros, type Path } from "./zeros.ts";

/**
 * A value turned into bytes: `body` is msgpack; binary values of at least
 * ATTACH_MIN bytes are left out of it and listed in `attachments`, so they travel as
 * raw bytes next to the body (written with writev, never copied into the body).
 */
export interface Encoded {
  body: Uint8Array;
  attachments: Uint8Array[];
  /** Refs found in the value, in order of first appearance (encodeValue only). */
  refs?: ObjectRef[];
  /** Channels found in the value. */
  chans?: Chan<unknown>[];
  /** Actor handles found in the value (encodeValue only): a call carrying one keeps its actor alive. */
  actors?: ActorRef[];
}

export const ATTACH_MIN = 16 * 1024;

/** The attachments of an encoding that has none (never written to: frozen). */
const NO_ATTACHMENTS = Object.freeze([]) as unknown as Uint8Array[];

const EXT_BINARY = 0x21; // application range, clear of msgpackr's own types
const EXT_ERROR = 0x22;
const EXT_REF = 0x23;
const EXT_CHAN = 0x24;
const EXT_ZEROS = 0x25;
const EXT_ACTOR = 0x26;

// encode/decode run synchronously, so the attachment list of the value being
// processed can live in module state instead of being threaded through msgpackr.
let outAttachments: Uint8Array[] = [];
let inAttachments: readonly Uint8Array[] = NO_ATTACHMENTS;
let outRefs: ObjectRef[] = [];
let inRefs: ReadonlyMap<string, unknown> | undefined;
let outChans: Chan<unknown>[] = [];
let outActors: ActorRef[] = [];
/** Turns an actor's address into this process's handle for it; set by driver and runner threads. */
let actorReviver: ((address: ActorAddress) => unknown) | undefined;

export function setActorReviver(reviver: (address: ActorAddress) => unknown): void {
  actorReviver = reviver;
}
/** Turns a channel id (and capacity) into this process's handle for it; set by driver and runner. */
let chanReviver: ((id: string, capacity: number) => Chan<unknown>) | undefined;

export function setChanReviver(reviver: (id: string, capacity: number) => Chan<unknown>): void {
  chanReviver = reviver;
}

function bytesOf(v: ArrayBufferView | ArrayBuffer): Uint8Array {
  return v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function packBinary(v: ArrayBufferView | ArrayBuffer): Uint8Array {
  const kind = binaryKindOf(v); // a subclass travels as its base kind
  const bytes = bytesOf(v);
  if (bytes.byteLength >= ATTACH_MIN) {
    const out = new Uint8Array(6);
    out[0] = kind;
    out[1] = 1; // out of band
    new DataView(out.buffer).setUint32(2, outAttachments.length);
    outAttachments.push(bytes);
    return out;
  }
  const out = new Uint8Array(2 + bytes.byteLength);
  out[0] = kind;
  out[1] = 0; // inline
  out.set(bytes, 2);
  return out;
}

function viewAs(kind: number, bytes: Uint8Array): unknown {
  const ctor = BINARY_KINDS[kind];
  if (ctor === undefined) throw new TypeError(`unknown binary kind ${kind}`);
  if (ctor === Buffer) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (ctor === ArrayBuffer) return Uint8Array.prototype.slice.call(bytes).buffer; // a plain ArrayBuffer, even from shared memory
  if (ctor === DataView) return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const T = ctor as Float64ArrayConstructor; // any element type; BYTES_PER_ELEMENT says which
  const size = T.BYTES_PER_ELEMENT;
  // A view needs aligned offsets; frames are laid out so that attachments are aligned.
  const b = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  return new T(b.buffer, b.byteOffset, b.byteLength / size);
}

function unpackBinary(data: Uint8Array): unknown {
  const kind = data[0]!;
  if (data[1] === 1) {
    const index = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(2);
    const att = inAttachments[index];
    if (att === undefined) throw new TypeError(`missing attachment ${index}`);
    return viewAs(kind, att);
  }
  // Copy: own, aligned memory rather than a view into the frame (msgpackr hands out Buffers, whose slice() is a view).
  return viewAs(kind, Uint8Array.prototype.slice.call(data, 2));
}

const TypedArray = Object.getPrototypeOf(Uint8Array) as new () => ArrayBufferView;
for (const Class of [TypedArray, DataView, ArrayBuffer] as const) {
  addExtension({ Class, type: EXT_BINARY, pack: packBinary as (v: unknown) => Uint8Array, unpack: unpackBinary });
}

interface WireError {
  name: string;
  message: string;
  stack: string;
  cause: unknown;
  code: unknown;
  /** Set by Strand errors only (even when empty). */
  fields: ErrorFields | undefined;
}

const builtinErrors: Record<string, ErrorConstructor> = {
  Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError,
};

addExtension({
  Class: Error,
  type: EXT_ERROR,
  write(e: Error): WireError {
    const own = e as Error & { code?: unknown };
    const strand = e instanceof StrandError ? e.fields() : undefined;
    return {
      name: e.name, message: e.message, stack: e.stack ?? "", cause: e.cause,
      code: typeof own.code === "string" || typeof own.code === "number" ? own.code : undefined,
      fields: strand,
    };
  },
  read(w: WireError): Error {
    let e: Error;
    // Fields mark a Strand error: its class is rebuilt from the registry of error codes.
    if (typeof w.fields === "object" && w.fields !== null && typeof w.code === "string") {
      e = reviveStrandError(w.code, String(w.name), String(w.message), w.fields);
    } else {
      // hasOwn: a name like "constructor" must not find Object.prototype's members.
      const Ctor = Object.hasOwn(builtinErrors, w.name) ? builtinErrors[w.name]! : Error;
      e = new Ctor(w.message);
      if (e.name !== w.name) Object.defineProperty(e, "name", { value: w.name, writable: true, configurable: true });
      if (w.code !== undefined) (e as Error & { code?: unknown }).code = w.code;
    }
    e.stack = w.stack;
    if (w.cause !== undefined) e.cause = w.cause;
    return e;
  },
});

addExtension({
  Class: ObjectRef,
  type: EXT_REF,
  write(r: ObjectRef): string {
    if (!outRefs.includes(r)) outRefs.push(r);
    return r.id;
  },
  read(id: unknown): unknown {
    if (typeof id !== "string") throw new TypeError("malformed object reference");
    if (inRefs === undefined || !inRefs.has(id)) throw new TypeError(`no value for object ${id} (Refs are resolved by the runner)`);
    return inRefs.get(id);
  },
});

addExtension({
  Class: Chan,
  type: EXT_CHAN,
  write(c: Chan<unknown>): [string, number] {
    if (!outChans.includes(c)) outChans.push(c);
    return [c.id, c.capacity];
  },
  read(v: unknown): unknown {
    if (!Array.isArray(v) || typeof v[0] !== "string" || typeof v[1] !== "number") throw new TypeError("malformed channel");
    if (chanReviver === undefined) throw new TypeError("channels cannot be decoded here");
    return chanReviver(v[0], v[1]);
  },
});

addExtension({
  Class: ActorRef,
  type: EXT_ACTOR,
  write(a: ActorRef): ActorAddress {
    if (!outActors.includes(a)) outActors.push(a);
    return a.address;
  },
  read(v: unknown): unknown {
    const a = v as Partial<ActorAddress> | null;
    if (typeof a !== "object" || a === null || typeof a.id !== "string" || typeof a.className !== "string" || typeof a.host !== "string"
      || typeof a.port !== "number" || typeof a.runner !== "string" || typeof a.hash !== "string" || typeof a.owner !== "string") {
      throw new TypeError("malformed actor handle");
    }
    const address = { ...a, name: a.name ?? null, incarnation: a.incarnation ?? 0 } as ActorAddress;
    return actorReviver === undefined ? new ActorRef(address) : actorReviver(address);
  },
});

/** A value that holds -0 somewhere, with where: msgpack alone would turn each into 0 (zeros.ts). */
class WithZeros {
  constructor(readonly value: unknown, readonly paths: Path[]) {}
}

addExtension({
  Class: WithZeros,
  type: EXT_ZEROS,
  write(w: WithZeros): [unknown, Path[]] {
    return [w.value, w.paths];
  },
  read(v: unknown): unknown {
    if (!Array.isArray(v) || v.length !== 2 || !Array.isArray(v[1])) throw new TypeError("malformed -0 paths");
    return restoreZeros(v[0], v[1] as Path[]);
  },
});

const packr = new Packr({
  structuredClone: true, // cycles and shared references survive
  useRecords: true, // plain objects as records, so msgpack maps can mean Map
  mapsAsObjects: false,
  moreTypes: true,
  useBigIntExtension: true,
});

/**
 * The same settings without structured clone, for values that hold no object but an array
 * of primitives (most calls' arguments, most results): they can hold no cycle or shared
 * reference, so the bytes are the same, but msgpackr makes no reference map (a Map per
 * encoding, ~170 bytes of a no-op call's garbage on the driver). `packr` decodes both.
 */
const plainPackr = new Packr({ useRecords: true, mapsAsObjects: false, moreTypes: true, useBigIntExtension: true });

/** Validates then encodes. Throws SerializationError naming `path` for values that cannot travel. */
export function encodeValue(value: unknown, path: string, slab?: BodySlab): Encoded {
  if (isPlain(value)) {
    // Nothing to validate, no -0 to carry, no attachments, Refs, channels or actors.
    const packed = plainPackr.pack(value);
    return { body: slab === undefined ? Uint8Array.prototype.slice.call(packed) : slab.copy(packed), attachments: NO_ATTACHMENTS };
  }
  if (isShallow(value)) return encodeShallow(value, slab);
  const zeros = assertSerializable(value, path);
  return encodeTrusted(zeros === undefined ? value : new WithZeros(value, zeros), slab);
}

/** A value isShallow took: no walk, no structured clone, nothing msgpackr keeps hold of (so no pack(null) after). */
function encodeShallow(value: unknown, slab: BodySlab | undefined): Encoded {
  try {
    const packed = plainPackr.pack(value);
    const enc: Encoded = { body: slab === undefined ? Uint8Array.prototype.slice.call(packed) : slab.copy(packed), attachments: NO_ATTACHMENTS };
    if (outRefs.length > 0) enc.refs = outRefs;
    return enc;
  } finally {
    if (outRefs.length > 0) outRefs = [];
  }
}

/**
 * Encodes a value already known to be serializable (e.g. protocol headers); -0 becomes 0.
 * `slab`: where to copy a small body (body-slab.ts), rather than into a buffer of its own.
 */
export function encodeTrusted(value: unknown, slab?: BodySlab): Encoded {
  // The four lists are empty here, and stay the module's unless this encoding filled them
  // (then the encoding keeps them and new ones take their place): four empty arrays made
  // and four dropped per call were ~250 bytes of a no-op call's garbage on the driver.
  try {
    // pack() returns a view into msgpackr's reusable buffer; copy it before the next pack.
    const packed = packr.pack(value);
    const body = slab === undefined ? Uint8Array.prototype.slice.call(packed) : slab.copy(packed);
    // msgpackr keeps hold of the last value it packed (its structured-clone reference
    // map): a Ref in it could never be collected, so its object never freed. Pack
    // something else to let go of it.
    if (outRefs.length > 0 || outActors.length > 0) packr.pack(null);
    // One shared empty list for the common case: a burst of calls holds every call's encoding at once.
    const enc: Encoded = { body, attachments: outAttachments.length === 0 ? NO_ATTACHMENTS : outAttachments };
    if (outRefs.length > 0) enc.refs = outRefs;
    if (outChans.length > 0) enc.chans = outChans;
    if (outActors.length > 0) enc.actors = outActors;
    return enc;
  } finally {
    if (outAttachments.length > 0) outAttachments = [];
    if (outRefs.length > 0) outRefs = [];
    if (outChans.length > 0) outChans = [];
    if (outActors.length > 0) outActors = [];
  }
}

/** @param refs the values of the objects that Refs inside the value stand for. */
export function decodeValue(body: Uint8Array, attachments: readonly Uint8Array[] = NO_ATTACHMENTS, refs?: ReadonlyMap<string, unknown>): unknown {
  inAttachments = attachments;
  inRefs = refs;
  // msgpackr's native string extractor misreads shared memory (seen: SIGSEGV and
  // "unexpected end of buffer"): the body, small next to its attachments, gets a copy.
  if (body.buffer instanceof SharedArrayBuffer) body = Uint8Array.prototype.slice.call(body);
  try {
    return packr.unpack(body);
  } finally {
    inAttachments = NO_ATTACHMENTS;
    inRefs = undefined;
  }
}

/** Where in its buffer msgpackr reads a value (decodeValueIn): one object, reused. */
const span = { start: 0, end: 0 };

/**
 * The value held by bytes [start, end) of `source`, which has no attachments: for many
 * bodies side by side in one buffer (a batch of results, protocol/call-batch.ts), read where
 * they are. msgpackr makes a DataView for each buffer it reads and keeps it on the buffer: a
 * view per body made one per body; one buffer read at offsets makes one in all.
 */
export function decodeValueIn(source: Uint8Array, start: number, end: number): unknown {
  if (end <= start) throw new TypeError("an empty body");
  // Most results are one msgpack token of one byte (a small integer, null, a boolean) or
  // msgpackr's three-byte undefined (what a function without a return gives): read here, not
  // through msgpackr's setup for a whole value (decodeValueIn was ~6% of the driver's CPU
  // in a burst of no-op calls).
  const n = end - start;
  if (n === 1) {
    const b = source[start]!;
    if (b < 0x80) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b === 0xc0) return null;
    if (b === 0xc2) return false;
    if (b === 0xc3) return true;
  } else if (n === 3 && source[start] === 0xd4 && source[start + 1] === 0 && source[start + 2] === 0) return undefined;
  if (source.buffer instanceof SharedArrayBuffer) return decodeValue(source.slice(start, end));
  inAttachments = NO_ATTACHMENTS;
  inRefs = undefined;
  span.start = start;
  span.end = end;
  return packr.unpack(source, span);
}

/** A value as frame segments (body, then attachments): validated and encoded. */
export function encodeSegments(value: unknown, path: string): Uint8Array[] {
  const e = encodeValue(value, path);
  return [e.body, ...e.attachments];
}

/** The value that frame segments (body, then attachments) hold. */
export function decodeSegments(segments: readonly Uint8Array[]): unknown {
  return decodeValue(segments[0]!, segments.slice(1));
}

// The buffer decodeBody last read in, as one view of all of it: views of one slab (the
// driver's small kept results, body-slab.ts, read by decodeInline) are read through one view, so msgpackr makes one
// DataView per slab. A view of its own per body made a DataView per body and added a property
// to the view: 3.6-7.7 against 2.0-3.5 µs per decoding of a graph task's `{ x, us }` (a loop
// of 200,000, 5 rounds).
const WHOLE_MAX = 64 * 1024;
let wholeBuffer: ArrayBufferLike | undefined;
let whole: Uint8Array | undefined;

/** The value one body with no attachments holds, read where it lies in its buffer. */
export function decodeBody(body: Uint8Array): unknown {
  const buffer = body.buffer;
  // Only small buffers are kept here: a big value's buffer (pooled, or a socket's) must go
  // as soon as its reader lets go of it.
  if (buffer.byteLength > WHOLE_MAX || buffer instanceof SharedArrayBuffer || body.byteLength === 0) return decodeValue(body);
  if (buffer !== wholeBuffer) {
    whole = new Uint8Array(buffer);
    wholeBuffer = buffer;
  }
  return decodeValueIn(whole!, body.byteOffset, body.byteOffset + body.byteLength);
}

/**
 * The value of a small result the driver keeps (`inline`): a body in one of its slabs is read
 * in place (decodeBody). Only there: reading a runner's graph inputs the same way cost its
 * threads more, not less (docs/decisions.md, session 28).
 */
export function decodeInline(segments: readonly Uint8Array[]): unknown {
  return segments.length === 1 ? decodeBody(segments[0]!) : decodeSegments(segments);
}

/** The error that a failure answer's segments hold (anything else becomes a ProtocolError). */
export function decodeError(segments: readonly Uint8Array[]): Error {
  const v = decodeSegments(segments);
  return v instanceof Error ? v : new ProtocolError(`expected an error, got ${String(v)}`);
}
