// Negative zero, which structured clone keeps and msgpack loses: msgpackr writes -0 as the
// integer 0 and has no option to do otherwise. The validation walk, which visits every
// value anyway, notes where each -0 sits (a path from the root); the codec sends those
// paths beside the value only when there are any, and puts -0 back after decoding. A value
// without -0 costs one comparison per number and nothing on the wire.
//
// Map keys and Set items are never -0 (Map and Set store +0 instead, as the language
// specifies), so a -0 sits in an array, an object property, a Map value or an error's
// cause; a path may go through Map keys and Set items on its way there.

export const KEY = 0;
export const VALUE = 1;
export const ITEM = 2;

/** The i-th entry of a Map (its key or value) or the i-th item of a Set, in iteration order. */
export interface Entry {
  part: typeof KEY | typeof VALUE | typeof ITEM;
  i: number;
}

/** Steps from the root: an array index, an object key, or [part, i] of an Entry. */
export type Path = (string | number | [Entry["part"], number])[];

function nth<T>(items: Iterable<T>, i: number): T {
  let k = 0;
  for (const x of items) if (k++ === i) return x;
  throw new TypeError(`malformed -0 path: no entry ${i}`);
}

function malformed(): never {
  throw new TypeError("malformed -0 path");
}

/**
 * The own property `key` of a decoded object. Own only: a path from the wire must never
 * reach a prototype (setting "__proto__.x" would change every object of the process).
 */
function own(container: unknown, key: string | number): unknown {
  if (typeof container !== "object" || container === null || !Object.hasOwn(container, key)) return malformed();
  return (container as Record<string | number, unknown>)[key];
}

function step(container: unknown, s: Path[number]): unknown {
  if (!Array.isArray(s)) return own(container, s);
  const [part, i] = s;
  if (part === ITEM && container instanceof Set) return nth(container, i);
  if (part === KEY && container instanceof Map) return nth(container.keys(), i);
  if (part === VALUE && container instanceof Map) return nth(container.values(), i);
  return malformed();
}

/**
 * Puts -0 back at each path of a decoded value, where the decoder left 0; returns the value
 * (-0 itself for the empty path). A path that leads anywhere else is malformed.
 */
export function restoreZeros(value: unknown, paths: readonly Path[]): unknown {
  for (const path of paths) {
    if (!Array.isArray(path)) return malformed();
    if (path.length === 0) {
      if (value !== 0) return malformed();
      return -0;
    }
    let container = value;
    for (let k = 0; k < path.length - 1; k++) container = step(container, path[k]!);
    const last = path[path.length - 1]!;
    if (step(container, last) !== 0) return malformed();
    if (!Array.isArray(last)) (container as Record<string | number, unknown>)[last] = -0;
    else if (last[0] === VALUE) (container as Map<unknown, unknown>).set(nth((container as Map<unknown, unknown>).keys(), last[1]), -0);
    else return malformed(); // a Map key or Set item is never -0
  }
  return value;
}
