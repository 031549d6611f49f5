// Results a remote function hands over for good: the runner may send their bytes as they
// are instead of copying them first. Ordinary results are copied as a worker packs them
// (src/runner/batch.ts), because the function may keep the array and change it after it
// returned (a reused output buffer), while the copy waits for the rest of its batch. On a
// runner VM that copy was costly for what it is: each fresh MB of memory cost 3-4 ms of
// page faults (measured: a 4 MB slice() 12-17 ms the first time, 0.4 ms into touched
// memory), so a matmul task's 1 MB of C paid twice, in copyOut() and in the packing.
//
// The registry lives on globalThis under a registered symbol: a user bundle carries its own
// copy of this file, and the runner's copy must see what the bundle's marked.

const HANDED = Symbol.for("strand.handedOff");

function handed(): WeakSet<SharedArrayBuffer> {
  const g = globalThis as { [HANDED]?: WeakSet<SharedArrayBuffer> };
  return (g[HANDED] ??= new WeakSet());
}

/**
 * Marks a SharedArrayBuffer as given up by its creator: nobody writes to it again, so a
 * runner may read it in place until it is sent.
 */
export function handOff(buffer: SharedArrayBuffer): void {
  handed().add(buffer);
}

/** Whether `bytes` lies in memory handed over by handOff(). */
export function isHandedOff(bytes: Uint8Array): boolean {
  return bytes.buffer instanceof SharedArrayBuffer && handed().has(bytes.buffer);
}
