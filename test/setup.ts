import { expect } from "vitest";

// vitest's deep equality walks a typed array element by element through its generic
// machinery: over a second for a 200 KB Buffer, several on a loaded machine, which made
// tests comparing big values time out. This tester decides for binary values instead, by
// the same rule (same class, and every element the same by Object.is), in a plain loop.
// Anything else is left to vitest (undefined).

const bytesOf = (v: ArrayBufferView | ArrayBuffer): Uint8Array =>
  v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

function sameBinary(a: unknown, b: unknown): boolean | undefined {
  const binary = (x: unknown): x is ArrayBufferView | ArrayBuffer => ArrayBuffer.isView(x) || x instanceof ArrayBuffer;
  if (!binary(a) || !binary(b)) return undefined;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b) || a.byteLength !== b.byteLength) return false;
  const x = bytesOf(a);
  const y = bytesOf(b);
  let i = 0;
  while (i < x.length && x[i] === y[i]) i++;
  if (i === x.length) return true;
  // Different bytes can still be equal elements: NaNs with different payloads.
  if (!(a instanceof Float64Array || a instanceof Float32Array)) return false;
  const p = a as Float64Array;
  const q = b as Float64Array;
  for (let k = 0; k < p.length; k++) if (!Object.is(p[k], q[k])) return false;
  return true;
}

expect.addEqualityTesters([sameBinary]);
