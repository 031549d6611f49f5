import { ProtocolError } from "../errors.ts";
import { isMaybe, type Kind } from "./fields.ts";
import { headerPackr, MESSAGES, T, type Message, type MessageDef } from "./messages.ts";
import { msgpackBoundsProblem } from "./msgpack-bounds.ts";

// Every header a peer sends is read here, on every side: a header that does not fit the
// message table closes the connection it came on. A peer must not be able to put a string
// where an id belongs and have it echoed back, used as a map key or compared as if it were a
// number; and the reader's code may then take the types the table promises at their word.

/** A message's fields, as the reader checks them. */
export interface Shape {
  /** The message's name in errors: T's. */
  name: string;
  names: readonly string[];
  kinds: readonly Kind<unknown>[];
  /** How many fields a header must have (those before the first `maybe`), and may have. */
  required: number;
  most: number;
}

/** The table, compiled once: indexed by message type. */
const SHAPES: Shape[] = [];
for (const [type, def] of Object.entries(MESSAGES) as [string, MessageDef][]) {
  const { fields } = def;
  SHAPES[Number(type)] = {
    name: T[Number(type)]!,
    names: fields.map(([name]) => name),
    kinds: fields.map(([, kind]) => kind),
    required: fields.filter(([, kind]) => !isMaybe(kind)).length,
    most: def.open === true ? Infinity : fields.length,
  };
}

/** The messages one kind of connection takes, and what to call it in errors. */
export interface Reads<K extends T> {
  readonly where: string;
  readonly types: readonly K[];
  /** By message type: its shape, if this reader takes it. */
  readonly shapes: readonly (Shape | undefined)[];
}

/** What a reader takes (`where`: as errors name the connection, "from a runner"). */
export function reads<const K extends T>(where: string, ...types: readonly K[]): Reads<K> {
  const shapes: (Shape | undefined)[] = [];
  for (const t of types) shapes[t] = SHAPES[t];
  return { where, types, shapes };
}

/** Every message: for tests and tools that read whatever comes. */
export const ANY_MESSAGE: Reads<T> = reads("", ...(Object.keys(MESSAGES).map(Number) as T[]));

/**
 * The header of a frame, if it is one of the messages `reading` takes and its fields have
 * the table's types; else ProtocolError naming the message and the field.
 */
export function readHeader<K extends T>(segments: readonly Uint8Array[], reading: Reads<K>): Message<K> {
  const h = decode(segments);
  const type: unknown = h[0];
  const shape = typeof type === "number" ? reading.shapes[type] : undefined;
  if (shape === undefined) {
    const known = typeof type === "number" ? SHAPES[type]?.name : undefined;
    throw new ProtocolError(`unexpected message ${known ?? `type ${String(type)}`}${reading.where === "" ? "" : ` ${reading.where}`}`);
  }
  const n = h.length - 1;
  if (n < shape.required || n > shape.most) throw new ProtocolError(`malformed ${shape.name}: ${n} fields`);
  const { kinds } = shape;
  for (let i = 0; i < kinds.length; i++) {
    const k = kinds[i]!;
    if (!k.test(h[i + 1])) throw new ProtocolError(`malformed ${shape.name}: ${shape.names[i]!} is not ${k.says}`);
  }
  return h as Message<K>;
}

function decode(segments: readonly Uint8Array[]): unknown[] {
  let first = segments[0];
  if (first === undefined) throw new ProtocolError("empty frame");
  // Big frames arrive in shared memory, and msgpackr's native string extractor (used for
  // headers of 140 bytes or more) misreads it: a call with a big argument and a dozen Refs
  // failed as "undecodable header" and dropped the driver. Headers are small: copy.
  if (first.buffer instanceof SharedArrayBuffer) first = Uint8Array.prototype.slice.call(first);
  const problem = msgpackBoundsProblem(first);
  if (problem !== undefined) throw new ProtocolError(`undecodable header: ${problem}`);
  let h: unknown;
  try {
    h = headerPackr.unpack(first);
  } catch (err) {
    throw new ProtocolError(`undecodable header: ${(err as Error).message}`);
  }
  if (!Array.isArray(h)) throw new ProtocolError("header is not a message");
  return h;
}
