import { ProtocolError } from "../errors.ts";
import { T, type Header } from "./messages.ts";

// What the fields of each message a runner receives must be. A header that does not fit
// closes the connection it came on: a peer must not be able to put a string where an id
// belongs and have it echoed back, used as a map key or compared as if it were a number.
// (Structures inside fields, such as a call's dependencies, are checked where they are read.)

/** `?`: may also be null or absent. */
type Field = "int" | "str" | "bool" | "array" | "strings" | "pointer" | "int?" | "str?" | "bool?" | "array?" | "pointer?";

const SHAPES: Partial<Record<T, readonly Field[]>> = {
  [T.Module]: ["int", "str"],
  [T.Call]: ["int", "int", "str", "bool", "array?", "str?", "bool?"],
  [T.Cancel]: ["int"],
  [T.Code]: ["str", "bool"],
  [T.StatsRequest]: ["int"],
  [T.Heartbeat]: [],
  [T.Put]: ["int", "str"],
  [T.Fetch]: ["int", "str", "bool?"],
  [T.Free]: ["strings"],
  [T.Pull]: ["int", "str", "str"],
  [T.Owner]: ["str"],
  [T.ChanReply]: ["int", "bool", "int", "bool", "pointer?", "int?"],
  [T.ChanRevoke]: ["str"],
};

function fits(field: Field, v: unknown): boolean {
  if (field.endsWith("?")) {
    if (v === null || v === undefined) return true;
    field = field.slice(0, -1) as Field;
  }
  switch (field) {
    case "int": return Number.isSafeInteger(v);
    case "str": return typeof v === "string";
    case "bool": return typeof v === "boolean";
    case "array": return Array.isArray(v);
    case "strings": return Array.isArray(v) && v.every((s) => typeof s === "string");
    case "pointer": return Array.isArray(v) && v.length === 2 && typeof v[0] === "string" && (v[1] === null || typeof v[1] === "string");
    default: return false;
  }
}

/** Throws ProtocolError unless `h` is a message a runner takes from a driver, with fields of the right types. */
export function checkShape(h: Header): void {
  const shape = SHAPES[h[0]];
  if (shape === undefined) throw new ProtocolError(`unexpected message type ${String(h[0])}`);
  const required = shape.filter((f) => !f.endsWith("?")).length;
  if (h.length - 1 < required || h.length - 1 > shape.length) throw new ProtocolError(`message ${h[0]} has ${h.length - 1} fields`);
  for (let i = 0; i < shape.length; i++) {
    if (!fits(shape[i]!, h[i + 1])) throw new ProtocolError(`message ${h[0]}: field ${i + 1} is not ${shape[i]}`);
  }
}
