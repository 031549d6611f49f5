import { SerializationError } from "../errors.ts";
import { Chan } from "./chan.ts";
import { ObjectRef } from "./object-ref.ts";
import { ActorRef } from "./actor-ref.ts";
import { ITEM, KEY, VALUE, type Entry, type Path } from "./zeros.ts";

// msgpackr would quietly turn a function into undefined and a class instance into a
// plain object; a remote call must instead fail at the call site, naming the path.
// One walk over the value does that. Binary values are leaves, so large arrays cost
// O(1). The walk keeps the path as a stack of keys and spells it out only on failure;
// it is written without per-call closures, since it runs on every call.
//
// The same walk finds every -0: msgpack has no negative zero integer, and msgpackr writes
// -0 as the integer 0. The codec sends the places it found beside the value (zeros.ts).

type Key = string | number | Entry;

interface Walk {
  root: string;
  keys: Key[];
  seen: Set<object> | undefined;
  /** Where the -0s found so far are, if any. */
  zeros: Path[] | undefined;
}

function spell(root: string, keys: readonly Key[]): string {
  let path = root;
  for (const k of keys) {
    if (typeof k === "number") path += `[${k}]`;
    else if (typeof k === "object") path += k.part === KEY ? `.<key ${k.i}>` : k.part === VALUE ? `.get(${k.i})` : `.<item ${k.i}>`;
    else path += /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
  }
  return path;
}

function fail(w: Walk, problem: string): never {
  throw new SerializationError(spell(w.root, w.keys), problem);
}

/** Primitives that need no look: the common case inside arrays and objects. */
const isLeaf = (x: unknown): boolean => {
  const t = typeof x;
  return t !== "object" && t !== "function" && t !== "symbol";
};

/**
 * Whether the value is a primitive other than -0, an array of them, or a plain object whose
 * values are (a record such as `{ x, us }`, what many tasks return): it holds nothing a walk
 * would look into (the arguments of most calls, most results), and, being one object at
 * most, no cycle or shared reference. The walk's own checks of such an object are here too
 * (an own `__proto__` key, -0). Objects took the walk and structured-clone packing before:
 * ~1.2 µs to encode the 1,000-task graph's `{ x, us }` result on the runner thread, against
 * ~0.4 µs this way (docs/decisions.md, "Graphs: their calls batched per turn").
 */
export function isPlain(value: unknown): boolean {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const x: unknown = value[i];
      if (!isLeaf(x) || Object.is(x, -0)) return false;
    }
    return true;
  }
  if (isLeaf(value)) return !Object.is(value, -0);
  if (value === null || Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const k in value as object) {
    if (k === "__proto__") return false;
    const x: unknown = (value as Record<string, unknown>)[k];
    if (!isLeaf(x) || Object.is(x, -0)) return false;
  }
  return true;
}

/** Objects (arrays and plain objects) isShallow takes in one value at most: it checks each against the others. */
const SHALLOW_OBJECTS = 8;
const shallowSeen: (object | undefined)[] = [];
let shallowCount = 0;

/**
 * Whether the value is an array holding, at most two levels down, only primitives other than
 * -0, nulls, Refs, and at most SHALLOW_OBJECTS arrays or plain objects (none twice): a graph
 * call's arguments (`f.ref(n, seed, [ref, ref])`) or a plain call given a few results
 * (`f(n, seed, [{ x, us }, { x, us }])`). Such a value holds no cycle or shared object (a Ref
 * twice reads as the same value either way), so it encodes to what the walk and
 * structured-clone packing make of it, without either (docs/decisions.md, "Graphs: ... (issue
 * 19, session 28)").
 */
export function isShallow(value: unknown): boolean {
  if (!Array.isArray(value)) return false;
  try {
    return shallowItems(value, 2);
  } finally {
    for (let k = 0; k < shallowCount; k++) shallowSeen[k] = undefined;
    shallowCount = 0;
  }
}

/** The items of an array or plain object: see isShallow. `depth`: levels of objects still allowed below. */
function shallowItems(o: object, depth: number): boolean {
  if (Array.isArray(o)) {
    for (let i = 0; i < o.length; i++) if (!shallowItem(o[i], depth)) return false;
    return true;
  }
  if (Object.getPrototypeOf(o) !== Object.prototype) return false;
  for (const k in o) {
    if (k === "__proto__" || !shallowItem((o as Record<string, unknown>)[k], depth)) return false;
  }
  return true;
}

function shallowItem(x: unknown, depth: number): boolean {
  if (isLeaf(x)) return !Object.is(x, -0);
  if (x === null || x instanceof ObjectRef) return true;
  if (depth === 0 || shallowCount === SHALLOW_OBJECTS) return false;
  for (let k = 0; k < shallowCount; k++) if (shallowSeen[k] === x) return false;
  shallowSeen[shallowCount++] = x as object;
  return shallowItems(x as object, depth - 1);
}

/** Notes a -0 at the current path, plus `last` if given (a leaf the walk does not enter). */
function zero(w: Walk, last?: string | number): void {
  const path: Path = w.keys.map((k) => (typeof k === "object" ? [k.part, k.i] : k));
  if (last !== undefined) path.push(last);
  (w.zeros ??= []).push(path);
}

function child(w: Walk, key: Key, v: unknown): void {
  w.keys.push(key);
  walk(w, v);
  w.keys.pop();
}

function walk(w: Walk, v: unknown): void {
  switch (typeof v) {
    case "number":
      if (Object.is(v, -0)) zero(w);
      return;
    case "string": case "boolean": case "bigint": case "undefined":
      return;
    case "function":
      return fail(w, "is a function");
    case "symbol":
      return fail(w, "is a symbol");
  }
  if (v === null) return;
  const o = v as object;
  w.seen ??= new Set();
  if (w.seen.has(o)) return; // cycles and shared references are encoded by reference
  w.seen.add(o);
  if (Array.isArray(o)) {
    for (let i = 0; i < o.length; i++) {
      const x: unknown = o[i];
      if (!isLeaf(x)) child(w, i, x);
      else if (Object.is(x, -0)) zero(w, i);
    }
    return;
  }
  const proto: unknown = Object.getPrototypeOf(o);
  if (proto === Object.prototype || proto === null) {
    for (const k in o) {
      if (k === "__proto__") {
        w.keys.push(k);
        return fail(w, "is an own \"__proto__\" key, which would turn into a prototype when decoded");
      }
      const x = (o as Record<string, unknown>)[k];
      if (!isLeaf(x)) child(w, k, x);
      else if (Object.is(x, -0)) zero(w, k);
    }
    return;
  }
  if (ArrayBuffer.isView(o) || o instanceof ArrayBuffer || o instanceof Date || o instanceof RegExp || o instanceof ObjectRef || o instanceof Chan || o instanceof ActorRef) return;
  if (o instanceof SharedArrayBuffer) return fail(w, "is a SharedArrayBuffer (cannot be shared across hosts)");
  if (o instanceof Map) {
    let i = 0;
    for (const [k, x] of o) {
      child(w, { part: KEY, i }, k);
      child(w, { part: VALUE, i }, x);
      i++;
    }
    return;
  }
  if (o instanceof Set) {
    let i = 0;
    for (const x of o) child(w, { part: ITEM, i: i++ }, x);
    return;
  }
  if (o instanceof Error) return child(w, "cause", o.cause);
  if (o instanceof Promise) return fail(w, "is a Promise (await it before passing it)");
  const name = (proto as { constructor?: { name?: string } }).constructor?.name ?? "anonymous";
  return fail(w, `is an instance of class ${name} (only plain objects and structured-clone types cross the wire)`);
}

/**
 * Throws SerializationError naming the path of anything that cannot travel. Returns where
 * the value holds -0, if anywhere (the codec restores those after decoding).
 */
export function assertSerializable(value: unknown, root: string): Path[] | undefined {
  // A call's arguments are most often one array of primitives: nothing to walk into, so no
  // walk, no set of objects seen and no path (a Set and two objects per no-op call before).
  if (isPlain(value)) return undefined;
  const w: Walk = { root, keys: [], seen: undefined, zeros: undefined };
  walk(w, value);
  return w.zeros;
}
