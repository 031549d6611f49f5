import { closeSync, fstatSync, openSync, readSync } from "node:fs";

// An output's bytes, read to hash it (and to stamp a Go build ID in it), into one buffer the
// thread keeps rather than a new one per file: readFileSync allocated each archive afresh
// (up to megabytes per action), and its pages were faulted in every time. The view is valid
// until the thread reads the next file; nothing keeps it past its action's outputs.

/** Files bigger than this get a buffer of their own, not kept. */
const KEEP_MAX = 64 * 1024 * 1024;

let scratch = Buffer.allocUnsafe(0);

/** The whole file at `file`, open read-write when `rw` (to stamp it): its bytes in the thread's buffer, and its descriptor, which the caller closes. */
export function readWhole(file: string, rw = false): { bytes: Buffer; fd: number } {
  const fd = openSync(file, rw ? "r+" : "r");
  try {
    let size = fstatSync(fd).size;
    let buf = scratch;
    if (buf.length < size + 1) {
      buf = Buffer.allocUnsafe(Math.max(size + 1, Math.min(KEEP_MAX, buf.length * 2), 64 * 1024));
      if (buf.length <= KEEP_MAX) scratch = buf;
    }
    // Read to the end, as readFileSync does: a file still growing is read whole (up to the buffer).
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, n);
      if (r === 0) break;
      n += r;
      if (n === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, n);
        buf = bigger;
        if (buf.length <= KEEP_MAX) scratch = buf;
      }
    }
    size = n;
    return { bytes: buf.subarray(0, size), fd };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
