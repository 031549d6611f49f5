import { SerializationError } from "../errors.ts";

// msgpackr would quietly turn a function into undefined and a class instance into a
// plain object; a remote call must instead fail at the call site, naming the path.
// One walk over the value does that. Binary values are leaves, so large arrays cost
// O(1). The walk keeps the path as a stack of keys and spells it out only on failure.

type Key = string | number | { label: string };

function spell(root: string, keys: readonly Key[]): string {
  let path = root;
  for (const k of keys) {
    if (typeof k === "number") path += `[${k}]`;
    else if (typeof k === "object") path += k.label;
    else path += /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
  }
  return path;
}

export function assertSerializable(value: unknown, root: string): void {
  const keys: Key[] = [];
  const fail = (problem: string): never => {
    throw new SerializationError(spell(root, keys), problem);
  };
  let seen: Set<object> | undefined;

  const walk = (v: unknown): void => {
    switch (typeof v) {
      case "string": case "number": case "boolean": case "bigint": case "undefined":
        return;
      case "function":
        return fail("is a function");
      case "symbol":
        return fail("is a symbol");
    }
    if (v === null) return;
    const o = v as object;
    seen ??= new Set();
    if (seen.has(o)) return; // cycles and shared references are encoded by reference
    seen.add(o);
    if (Array.isArray(o)) {
      for (let i = 0; i < o.length; i++) {
        const x: unknown = o[i];
        if (typeof x !== "object" && typeof x !== "function" && typeof x !== "symbol") continue;
        keys.push(i);
        walk(x);
        keys.pop();
      }
      return;
    }
    const proto: unknown = Object.getPrototypeOf(o);
    if (proto === Object.prototype || proto === null) {
      for (const k in o) {
        if (k === "__proto__") {
          keys.push(k);
          return fail("is an own \"__proto__\" key, which would turn into a prototype when decoded");
        }
        const x = (o as Record<string, unknown>)[k];
        if (typeof x !== "object" && typeof x !== "function" && typeof x !== "symbol") continue;
        keys.push(k);
        walk(x);
        keys.pop();
      }
      return;
    }
    if (ArrayBuffer.isView(o) || o instanceof ArrayBuffer || o instanceof Date || o instanceof RegExp) return;
    if (o instanceof SharedArrayBuffer) return fail("is a SharedArrayBuffer (cannot be shared across hosts)");
    if (o instanceof Map) {
      let i = 0;
      for (const [k, x] of o) {
        keys.push({ label: `.<key ${i}>` });
        walk(k);
        keys.pop();
        keys.push({ label: `.get(${i})` });
        walk(x);
        keys.pop();
        i++;
      }
      return;
    }
    if (o instanceof Set) {
      let i = 0;
      for (const x of o) {
        keys.push({ label: `.<item ${i++}>` });
        walk(x);
        keys.pop();
      }
      return;
    }
    if (o instanceof Error) {
      keys.push("cause");
      walk(o.cause);
      keys.pop();
      return;
    }
    if (o instanceof Promise) return fail("is a Promise (await it before passing it)");
    const name = (proto as { constructor?: { name?: string } }).constructor?.name ?? "anonymous";
    return fail(`is an instance of class ${name} (only plain objects and structured-clone types cross the wire)`);
  };
  walk(value);
}
