import { workerData } from "node:worker_threads";
import { StrandError } from "../../errors.ts";
import { MPI_IMPORT_MODULE, mpiImports, type WasmSide } from "./mpi/index.ts";
import { blockingCaller, oneWayPoster, type FromWasm, type WasmThreadData } from "./thread-link.ts";

// The Wasm thread of one rank: instantiates the program with WASI and the MPI imports, runs
// its _start, and tells the rank thread how it ended. Started by wasm-rank.ts; it lives as
// long as the program, and is terminated by the rank thread when the job aborts.

const WASI_MODULE = "wasi_snapshot_preview1";

const data = workerData as WasmThreadData;
const { port, rank, size, module } = data;
const post = (m: FromWasm, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

// node:wasi warns that it is experimental when loaded, on the runner's stderr, once per rank.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  if (String(warning).includes("WASI")) return;
  (emitWarning as (...a: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;
const { WASI } = await import("node:wasi");

// No preopens: the program sees no file system; only stdin (empty), stdout, stderr.
const wasi = new WASI({ version: "preview1", args: data.argv, env: data.env, preopens: {}, returnOnExit: true });
let memory: WebAssembly.Memory | undefined;
let exported: WebAssembly.Exports | undefined;
const side: WasmSide = {
  rank, size,
  memory: () => memory!,
  // User reduction ops call back into the program (mpi.h's strand_mpi_call_op).
  exports: () => exported!,
  call: blockingCaller(port, new Int32Array(data.flag)),
  post: oneWayPoster(port),
};
const mpi = mpiImports(side);
const wasiImport = wasi.wasiImport as Record<string, WebAssembly.HostFunction>;

/** Every import the program names that neither WASI (as node:wasi has it) nor Strand's MPI provides. */
function unknownImports(): string[] {
  const provided = (m: string, name: string): unknown =>
    m === WASI_MODULE ? wasiImport[name] : m === MPI_IMPORT_MODULE ? mpi[name] : undefined;
  return WebAssembly.Module.imports(module)
    .filter((i) => i.kind !== "function" || typeof provided(i.module, i.name) !== "function")
    .map((i) => `${i.module}.${i.name}${i.kind === "function" ? "" : ` (${i.kind})`}`);
}

// stdout and stderr go to the rank thread, whose writes are the rank's output: the driver
// prints them prefixed by rank. The rank thread cuts them into lines.
const fdWrite = wasiImport.fd_write as unknown as (fd: number, iovs: number, n: number, nwritten: number) => number;
function fd_write(fd: number, iovs: number, n: number, nwritten: number): number {
  if (fd !== 1 && fd !== 2) return fdWrite(fd, iovs, n, nwritten);
  const view = new DataView(memory!.buffer);
  let total = 0;
  const parts: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const ptr = view.getUint32(iovs + i * 8, true);
    const len = view.getUint32(iovs + i * 8 + 4, true);
    if (ptr + len > memory!.buffer.byteLength) return 21; // EFAULT
    parts.push(new Uint8Array(memory!.buffer, ptr, len));
    total += len;
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  post({ t: "out", fd, bytes }, [bytes.buffer]);
  view.setUint32(nwritten, total, true);
  return 0;
}

/** The Wasm frames of a trap's stack: V8 names them `at name (wasm://wasm/<id>:wasm-function[i]:0x…)`. */
const wasmFrames = (stack: string | undefined): string =>
  (stack ?? "").split("\n").filter((l) => l.includes("wasm://") || l.includes("wasm-function")).join("\n");

const unknown = unknownImports();
if (unknown.length > 0) {
  post({ t: "refused", unknown });
} else {
  try {
    const instance = new WebAssembly.Instance(module, { [WASI_MODULE]: { ...wasiImport, fd_write }, [MPI_IMPORT_MODULE]: mpi });
    const mem = instance.exports.memory;
    if (!(mem instanceof WebAssembly.Memory)) throw new TypeError("the module exports no memory (is it a wasm32-wasi program?)");
    memory = mem;
    exported = instance.exports;
    if (typeof instance.exports._start !== "function") throw new TypeError("the module exports no _start (is it a wasm32-wasi command, with a main?)");
    const code = wasi.start(instance as never) as number;
    post({ t: "exit", code });
  } catch (err) {
    // A stack overflow in Wasm code is V8's RangeError, not a RuntimeError: a trap all the same.
    const trapped = err instanceof WebAssembly.RuntimeError || (err instanceof RangeError && wasmFrames(err.stack) !== "");
    if (trapped) post({ t: "trap", message: err.message, stack: wasmFrames(err.stack) });
    else if (err instanceof StrandError) post({ t: "error", code: err.code, name: err.name, message: err.message, fields: { ...err.fields() }, stack: wasmFrames(err.stack) });
    else {
      const e = err instanceof Error ? err : new Error(String(err));
      post({ t: "thrown", name: e.name, message: e.message, stack: e.stack ?? "" });
    }
  }
}
