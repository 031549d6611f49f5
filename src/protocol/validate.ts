import { SerializationError } from "../errors.ts";

// msgpackr would quietly turn a function into undefined and a class instance into a
// plain object; a remote call must instead fail at the call site, naming the path.
// One walk over the value does that. Binary values are leaves, so large arrays cost O(1).

const isBinary = (v: object): boolean => ArrayBuffer.isView(v) || v instanceof ArrayBuffer;

function key(path: string, k: string | number): string {
  if (typeof k === "number") return `${path}[${k}]`;
  return /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`;
}

export function assertSerializable(value: unknown, path: string): void {
  walk(value, path, new Set());
}

function walk(v: unknown, path: string, seen: Set<object>): void {
  switch (typeof v) {
    case "string": case "number": case "boolean": case "bigint": case "undefined":
      return;
    case "function":
      throw new SerializationError(path, "is a function");
    case "symbol":
      throw new SerializationError(path, "is a symbol");
  }
  if (v === null) return;
  const o = v as object;
  if (seen.has(o)) return; // cycles are encoded by reference
  seen.add(o);
  if (Array.isArray(o)) {
    for (let i = 0; i < o.length; i++) walk(o[i], key(path, i), seen);
    return;
  }
  const proto: unknown = Object.getPrototypeOf(o);
  if (proto === Object.prototype || proto === null) {
    for (const k in o) walk((o as Record<string, unknown>)[k], key(path, k), seen);
    return;
  }
  if (isBinary(o) || o instanceof Date || o instanceof RegExp) return;
  if (o instanceof SharedArrayBuffer) {
    throw new SerializationError(path, "is a SharedArrayBuffer (cannot be shared across hosts)");
  }
  if (o instanceof Map) {
    let i = 0;
    for (const [k, val] of o) {
      walk(k, `${path}.<key ${i}>`, seen);
      walk(val, `${path}.get(${i})`, seen);
      i++;
    }
    return;
  }
  if (o instanceof Set) {
    let i = 0;
    for (const val of o) walk(val, `${path}.<item ${i++}>`, seen);
    return;
  }
  if (o instanceof Error) {
    walk(o.cause, `${path}.cause`, seen);
    return;
  }
  if (o instanceof Promise) throw new SerializationError(path, "is a Promise (await it before passing it)");
  const name = (proto as { constructor?: { name?: string } }).constructor?.name ?? "anonymous";
  throw new SerializationError(path, `is an instance of class ${name} (only plain objects and structured-clone types cross the wire)`);
}
