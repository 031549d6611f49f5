// What the runner rewrites in a Wasm binary before compiling it: the maximum of the memory it
// defines. A rank's program then cannot grow its linear memory past the runner's per-rank
// limit: memory.grow returns -1 and malloc returns NULL, as on a host out of memory, instead
// of the runner's process growing until the OS kills it. Only the one field changes; the
// rest of the module (code, names section for stacks) is copied as it is.

/** A Wasm page: 64 KiB. */
export const WASM_PAGE = 65536;

const MAGIC = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const MEMORY_SECTION = 5;

function readLeb(b: Uint8Array, at: number): { value: number; next: number } {
  let value = 0;
  let shift = 0;
  for (let i = at; i < b.length && i < at + 5; i++) {
    const byte = b[i]!;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) return { value, next: i + 1 };
  }
  throw new RangeError(`malformed LEB128 at byte ${at} of the Wasm module`);
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

/** Thrown when the program's initial memory is already over the limit: it could never start. */
export class MemoryOverLimit extends RangeError {
  constructor(readonly initialPages: number, readonly maxPages: number) {
    super(`the module needs ${initialPages * 64} KiB of memory at start, over the per-rank limit of ${maxPages * 64} KiB (--wasm-memory)`);
  }
}

/**
 * `bytes` with every memory it defines capped at `maxPages` (min(declared maximum, limit)).
 * Returns `bytes` itself when nothing changes. Shared memories (the threads proposal) keep
 * their flag. Imported memories are not rewritten here: Strand provides none, so such a
 * module is refused by the import check.
 */
export function capMemory(bytes: Uint8Array, maxPages: number): Uint8Array {
  if (bytes.length < 8 || MAGIC.some((m, i) => bytes[i] !== m)) throw new RangeError("not a WebAssembly binary module (version 1)");
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at]!;
    const size = readLeb(bytes, at + 1);
    const end = size.next + size.value;
    if (id !== MEMORY_SECTION) {
      at = end;
      continue;
    }
    const count = readLeb(bytes, size.next);
    const body: number[] = [...leb(count.value)];
    let p = count.next;
    let changed = false;
    for (let i = 0; i < count.value; i++) {
      const flags = bytes[p]!;
      if (flags & 0x04) throw new RangeError("64-bit memories (memory64) are not supported");
      const min = readLeb(bytes, p + 1);
      let max: number | undefined;
      p = min.next;
      if (flags & 0x01) {
        const m = readLeb(bytes, p);
        max = m.value;
        p = m.next;
      }
      if (min.value > maxPages) throw new MemoryOverLimit(min.value, maxPages);
      const capped = max === undefined ? maxPages : Math.min(max, maxPages);
      if (capped !== max) changed = true;
      body.push(flags | 0x01, ...leb(min.value), ...leb(capped));
    }
    if (!changed) return bytes;
    const section = [MEMORY_SECTION, ...leb(body.length), ...body];
    const out = new Uint8Array(at + section.length + (bytes.length - end));
    out.set(bytes.subarray(0, at), 0);
    out.set(section, at);
    out.set(bytes.subarray(end), at + section.length);
    return out;
  }
  return bytes;
}
