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
