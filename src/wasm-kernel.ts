// Wasm kernels inside a TypeScript module: `import bytes from "./k.wasm"` (the bundle carries
// the bytes) and `wasmKernel(bytes)` gives this thread's instance of it, with typed arrays
// moved in and out of its linear memory. Part of the runtime entry, so it runs the same on
// a runner thread and in the driver process.
//
// Each thread compiles a module once per content hash (or, through loadWasmKernel(), gets
// it from its runner's compile cache: once per runner) and instantiates it once: the caches
// live on globalThis, so two bundles loaded on one thread that carry the same bytes share
// them. Compilation is synchronous (`new WebAssembly.Module`), which Node allows on any
// thread for any size, so a remote function can stay synchronous.
//
// Ownership (docs/wasm.md#wasm-kernels): a WasmArray owns its block of linear memory until
// free() (or `using`); the typed arrays its view() returns are borrowed: they die when the
// block is freed and when memory grows, which any alloc() or kernel call may do (growing
// detaches the old ArrayBuffer: its views read as length 0). Call view() again after
// anything that may grow memory; copyOut() gives an array the caller owns.
import { createHash } from "node:crypto";
import { handOff } from "./handoff.ts";

/** What every kernel exports for this helper: its memory and include/strand_kernel.h's allocator. */
export interface KernelExports {
  memory: WebAssembly.Memory;
  strand_alloc(bytes: number): number;
  strand_free(ptr: number): void;
}

/** The typed arrays a kernel's memory can be viewed as. */
export type WasmTypedArray =
  | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array
  | Int32Array | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

/** The constructor of a typed array type, as wasmKernel().alloc takes it (e.g. Float64Array). */
export interface WasmTypedArrayType<T extends WasmTypedArray> {
  new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
  new (length: number): T;
  readonly BYTES_PER_ELEMENT: number;
}

/** A typed array's block of a kernel's linear memory. */
export interface WasmArray<T extends WasmTypedArray> extends Disposable {
  /** The block's address in linear memory: what the kernel's functions take. */
  readonly ptr: number;
  readonly length: number;
  readonly byteLength: number;
  /**
   * A view of the block, no copy. Borrowed: valid until the block is freed or memory grows
   * (any alloc or kernel call may grow it); call view() again after either.
   */
  view(): T;
  /** A copy of the block in a new typed array that the caller owns (one copy). */
  copyOut(): T;
  /**
   * A copy of the block to return from a remote function and never touch again: on a
   * runner the result then reaches the socket without the copy every other result gets
   * (src/handoff.ts). A big block is copied into shared memory for that. Use copyOut() for
   * an array the caller keeps or changes.
   */
  moveOut(): T;
  /** Gives the block back to the kernel's allocator; the WasmArray and its views are dead after. */
  free(): void;
}

/** This thread's instance of one Wasm module. */
export interface WasmKernel<E> {
  /** SHA-256 of the module's bytes, hex. */
  readonly hash: string;
  /** The kernel's exported functions (and its memory and allocator). */
  readonly exports: E & KernelExports;
  readonly memory: WebAssembly.Memory;
  /** Allocates a block for `length` elements of `type` (contents unspecified). */
  alloc<T extends WasmTypedArray>(type: WasmTypedArrayType<T>, length: number): WasmArray<T>;
  /**
   * Allocates a block and copies `src` into it: the one copy a JS array needs to reach the
   * kernel. Views are of src's standard type (a Buffer's are Uint8Arrays).
   */
  copyIn<T extends WasmTypedArray>(src: T): WasmArray<T>;
}

/** A kernel whose module lacks what the helper needs (memory, strand_alloc, strand_free), or whose allocator failed. */
export class WasmKernelError extends Error {
  override name = "WasmKernelError";
}

interface Caches {
  /** Content hash of a bytes object already seen, so the same import is hashed once. */
  hashes: WeakMap<Uint8Array, string>;
  modules: Map<string, WebAssembly.Module>;
  kernels: Map<string, WasmKernel<unknown>>;
  compiles: number;
  /** Modules this thread got from its runner's compile cache (compiled once per runner). */
  fromRunner: number;
  instantiations: number;
}

// One set per thread, shared by every bundle that thread loads (each bundle has its own copy of this file).
const CACHES = Symbol.for("strand.wasmKernels");

function caches(): Caches {
  const g = globalThis as { [CACHES]?: Caches };
  return (g[CACHES] ??= { hashes: new WeakMap(), modules: new Map(), kernels: new Map(), compiles: 0, fromRunner: 0, instantiations: 0 });
}

/** What wasmKernel() did on this thread: modules cached, and compilations and instantiations so far. */
export interface WasmKernelStats {
  modules: number;
  /** Modules compiled on this thread. */
  compiles: number;
  /** Modules received from the runner's compile cache instead. */
  fromRunner: number;
  instantiations: number;
}

export function wasmKernelStats(): WasmKernelStats {
  const c = caches();
  return { modules: c.modules.size, compiles: c.compiles, fromRunner: c.fromRunner, instantiations: c.instantiations };
}

function hashOf(c: Caches, bytes: Uint8Array): string {
  let hash = c.hashes.get(bytes);
  if (hash === undefined) {
    hash = createHash("sha256").update(bytes).digest("hex");
    c.hashes.set(bytes, hash);
  }
  return hash;
}

// A runner's worker threads offer the runner's compile cache to bundles under this symbol
// (src/runner/wasm/runtime-hook.ts): a module compiled once per runner, whatever the threads.
const RUNNER_WASM = Symbol.for("strand.wasm");

interface RunnerWasm {
  compile(hash: string, bytes: Uint8Array): Promise<WebAssembly.Module>;
}

/**
 * wasmKernel() compiled once per runner: on a runner thread the module comes from the
 * runner's compile cache (the first thread to ask compiles it, the others get the compiled
 * Module), elsewhere (the driver's process) it compiles on this thread. Then as wasmKernel():
 * instantiated once per thread, and wasmKernel() on the same bytes finds it, synchronously.
 */
export async function loadWasmKernel<E = Record<string, never>>(bytes: Uint8Array, imports: WebAssembly.Imports = {}): Promise<WasmKernel<E>> {
  const c = caches();
  const hash = hashOf(c, bytes);
  if (!c.kernels.has(hash) && !c.modules.has(hash)) {
    const runner = (globalThis as { [RUNNER_WASM]?: RunnerWasm })[RUNNER_WASM];
    if (runner !== undefined) {
      const module = await runner.compile(hash, bytes);
      // Another call on this thread may have finished first: keep the one Module.
      if (!c.modules.has(hash)) {
        c.fromRunner++;
        c.modules.set(hash, module);
      }
    }
  }
  return wasmKernel<E>(bytes, imports);
}

/**
 * This thread's instance of the Wasm module `bytes` (typically `import bytes from "./k.wasm"`):
 * compiled once per content hash and instantiated once per thread, on first use. `imports`
 * are used for that first instantiation only. Synchronous, so it compiles on this thread
 * unless loadWasmKernel() already brought the module from the runner's cache. The module must export `memory`,
 * `strand_alloc` and `strand_free` (include/strand_kernel.h provides the allocator).
 */
export function wasmKernel<E = Record<string, never>>(bytes: Uint8Array, imports: WebAssembly.Imports = {}): WasmKernel<E> {
  const c = caches();
  const hash = hashOf(c, bytes);
  const known = c.kernels.get(hash);
  if (known !== undefined) return known as WasmKernel<E>;
  let module = c.modules.get(hash);
  if (module === undefined) {
    module = new WebAssembly.Module(bytes);
    c.compiles++;
    c.modules.set(hash, module);
  }
  c.instantiations++;
  const kernel = instantiate<E>(hash, new WebAssembly.Instance(module, imports));
  c.kernels.set(hash, kernel as WasmKernel<unknown>);
  return kernel;
}

const BASE_TYPES: readonly WasmTypedArrayType<WasmTypedArray>[] = [
  Float64Array, Float32Array, Int32Array, Uint32Array, Int16Array, Uint16Array, Int8Array, Uint8Array,
  Uint8ClampedArray, BigInt64Array, BigUint64Array,
] as readonly WasmTypedArrayType<WasmTypedArray>[];

/** The standard typed array type of `a`: a Buffer's is Uint8Array (Buffer's own constructor is deprecated). */
function baseType(a: WasmTypedArray): WasmTypedArrayType<WasmTypedArray> {
  const t = BASE_TYPES.find((c) => a instanceof (c as unknown as typeof Uint8Array));
  if (t === undefined) throw new TypeError("copyIn takes a typed array");
  return t;
}

/** Below this a result is packed into the batch's small arena anyway (src/runner/batch.ts): a plain copy. */
const HAND_OFF_MIN = 64 * 1024;

function moveOut<T extends WasmTypedArray>(type: WasmTypedArrayType<T>, src: T): T {
  if (src.byteLength < HAND_OFF_MIN) return src.slice() as T;
  const buffer = new SharedArrayBuffer(src.byteLength);
  const out = new type(buffer as unknown as ArrayBuffer, 0, src.length);
  (out as { set(s: T): void }).set(src);
  handOff(buffer);
  return out;
}

function instantiate<E>(hash: string, instance: WebAssembly.Instance): WasmKernel<E> {
  const ex = instance.exports;
  const memory = ex["memory"];
  const allocFn = ex["strand_alloc"];
  const freeFn = ex["strand_free"];
  if (!(memory instanceof WebAssembly.Memory) || typeof allocFn !== "function" || typeof freeFn !== "function") {
    const have = Object.keys(ex).join(", ") || "nothing";
    throw new WasmKernelError(`a Wasm kernel must export memory, strand_alloc and strand_free (include/strand_kernel.h); module ${hash.slice(0, 12)} exports ${have}`);
  }
  const exports = ex as unknown as E & KernelExports;

  const alloc = <T extends WasmTypedArray>(type: WasmTypedArrayType<T>, length: number): WasmArray<T> => {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`length must be a whole number >= 0, got ${length}`);
    const byteLength = length * type.BYTES_PER_ELEMENT;
    const ptr = exports.strand_alloc(byteLength) >>> 0;
    if (ptr === 0) throw new WasmKernelError(`kernel ${hash.slice(0, 12)}: strand_alloc(${byteLength}) failed (linear memory cannot grow further)`);
    let freed = false;
    let cached: T | undefined;
    const view = (): T => {
      if (freed) throw new WasmKernelError("view() of a freed WasmArray");
      // A grown memory has a new buffer; the old one is detached, and views onto it are empty.
      if (cached === undefined || cached.buffer !== memory.buffer) cached = new type(memory.buffer, ptr, length);
      return cached;
    };
    const free = (): void => {
      if (freed) return;
      freed = true;
      cached = undefined;
      exports.strand_free(ptr);
    };
    return {
      ptr, length, byteLength, view, free,
      copyOut: () => view().slice() as T,
      moveOut: () => moveOut(type, view()),
      [Symbol.dispose]: free,
    };
  };

  const copyIn = <T extends WasmTypedArray>(src: T): WasmArray<T> => {
    const a = alloc(baseType(src) as WasmTypedArrayType<T>, src.length);
    (a.view() as { set(s: T): void }).set(src);
    return a;
  };

  return { hash, exports, memory, alloc, copyIn };
}
