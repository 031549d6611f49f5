/**
 * `bytes` of memory in an ArrayBuffer of its own, not zeroed (malloc, not calloc), for a
 * caller that overwrites every byte before anyone reads it: a big frame being read, a rank
 * message being copied out of a ring, a pooled receive buffer. Zeroing memory about to be
 * overwritten is a pass over it for nothing, and where glibc hands back recycled memory
 * (rather than a fresh mapping) calloc makes all of it resident even if the frame is never
 * filled. Buffer.allocUnsafeSlow, viewed as a plain Uint8Array: a Buffer's slice() is a view,
 * where code downstream expects Uint8Array's copy.
 */
export function unzeroed(bytes: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(bytes);
  return new Uint8Array(b.buffer, b.byteOffset, bytes);
}

/**
 * `bytes` of shared memory for a frame being read, that costs no resident memory until it is
 * written. A plain SharedArrayBuffer is calloc'd, and calloc clears recycled heap memory
 * (runners reuse freed big buffers: driver/local.ts RUNNER_TUNABLES), so a peer announcing a
 * 512 MiB frame it never sends made 512 MiB resident (test/fuzz-frames.test.ts: +1-8 GB of
 * peak RSS). A growable one (here grown to its full size at once) is mapped by V8 itself, not
 * malloc: its pages stay untouched until written (measured: 8 such 512 MiB buffers with one
 * MiB written each, 1,068 MiB of RSS plain, 44 MiB growable).
 */
export function untouchedShared(bytes: number): Uint8Array {
  const Shared = SharedArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => SharedArrayBuffer;
  return new Uint8Array(new Shared(bytes, { maxByteLength: bytes }));
}
