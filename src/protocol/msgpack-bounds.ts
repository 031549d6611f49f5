// msgpackr's native string extractor (msgpackr-extract 3.0.3) checks a string's length
// against the end of the buffer in 32-bit arithmetic: a str32 that announces ~4 GiB wraps
// around, passes the check, and the process reads far out of bounds (SIGSEGV). One 25-byte
// frame sent before the handshake killed a runner that way (fuzz-frames.test.ts). So every
// header is scanned first, in JavaScript numbers, before msgpackr sees it.

/**
 * Returns a reason if some length in `b` — of a string, binary, extension, or the count of
 * an array or map — does not fit in the bytes after it (or a token is never valid), else
 * undefined. A linear scan over tokens, like the native extractor's: it sees every length
 * that one would, and extension payloads stay opaque to both.
 */
export function msgpackBoundsProblem(b: Uint8Array): string | undefined {
  // No closures and no try: this runs on every header each side reads, and a closure per
  // call (named with Object.defineProperty when run from source by tsx) cost ~2 µs a
  // frame in the driver's profile of a burst of no-op calls.
  const n = b.byteLength;
  let p = 0;
  while (p < n) {
    const t = b[p++]!;
    let skip = 0;
    let items = 0;
    /** Bytes of a big-endian length after the token, and what it counts. */
    let lengthBytes = 0;
    let per = 0; // 0: the length is bytes to skip (+ `extra`); k > 0: k items per count
    let extra = 0;
    if (t < 0x80 || t >= 0xe0) continue; // fixints
    if (t < 0x90) items = 2 * (t & 0x0f); // fixmap
    else if (t < 0xa0) items = t & 0x0f; // fixarray
    else if (t < 0xc0) skip = t & 0x1f; // fixstr
    else {
      switch (t) {
        case 0xc0: case 0xc2: case 0xc3: break; // nil, false, true
        case 0xc4: case 0xd9: lengthBytes = 1; break; // bin8, str8
        case 0xc5: case 0xda: lengthBytes = 2; break; // bin16, str16
        case 0xc6: case 0xdb: lengthBytes = 4; break; // bin32, str32
        case 0xc7: lengthBytes = 1; extra = 1; break; // ext8: length, type, data
        case 0xc8: lengthBytes = 2; extra = 1; break;
        case 0xc9: lengthBytes = 4; extra = 1; break;
        case 0xcc: case 0xd0: skip = 1; break;
        case 0xcd: case 0xd1: skip = 2; break;
        case 0xca: case 0xce: case 0xd2: skip = 4; break;
        case 0xcb: case 0xcf: case 0xd3: skip = 8; break;
        case 0xd4: skip = 2; break; // fixext1..16: type, data
        case 0xd5: skip = 3; break;
        case 0xd6: skip = 5; break;
        case 0xd7: skip = 9; break;
        case 0xd8: skip = 17; break;
        case 0xdc: lengthBytes = 2; per = 1; break; // array16, array32
        case 0xdd: lengthBytes = 4; per = 1; break;
        case 0xde: lengthBytes = 2; per = 2; break; // map16, map32
        case 0xdf: lengthBytes = 4; per = 2; break;
        default: return `token 0x${t.toString(16)} at ${p - 1}`; // 0xc1: never used
      }
    }
    if (lengthBytes > 0) {
      if (lengthBytes > n - p) return `truncated at ${p}`;
      let v = 0;
      for (let i = 0; i < lengthBytes; i++) v = v * 256 + b[p++]!; // no 32-bit wrap: JavaScript numbers
      if (per === 0) skip = v + extra;
      else items = per * v;
    }
    // Every element takes at least a byte.
    if (skip > n - p || items > n - p) return `length ${Math.max(skip, items)} at ${p} overruns ${n} bytes`;
    p += skip;
  }
  return undefined;
}
