// What a remote module may import at run time: small and free of driver code, since it is
// bundled into the module that runners load (`import { select } from "strand/runtime"`).
export { chan, select, type Chan, type RecvChan, type SendChan, type RecvResult, type SelectCase, type Selected, type SelectOptions } from "./protocol/chan.ts";
export { CancelledError, ChannelBrokenError, ChannelClosedError, JobAbortedError } from "./errors.ts";
export { context, type CallContext } from "./context.ts";
export {
  comm, ANY, PROC_NULL, testAll, testAny, waitAll, waitAny,
  type Comm, type Message, type ReduceOp, type ElementOp, type LocOp, type Request, type Completion, type Completions, type Indexed,
  type Status, type ValueKind, type TypedArray, type Vector,
} from "./comm.ts";
export { go } from "./go.ts";
export {
  wasmKernel, loadWasmKernel, wasmKernelStats, WasmKernelError,
  type WasmKernel, type WasmKernelStats, type WasmArray, type KernelExports, type WasmTypedArray, type WasmTypedArrayType,
} from "./wasm-kernel.ts";
