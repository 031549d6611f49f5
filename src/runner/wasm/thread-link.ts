import { receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import type { MpiRequest } from "./mpi/index.ts";

// What crosses between a Wasm rank's two threads: the Wasm thread (the C program, blocking
// MPI imports) and the rank thread (the runner's worker thread, whose event loop carries
// comm()). One MessageChannel carries everything, in order: the program's requests and
// output one way, answers the other. A request blocks the Wasm thread on a shared Int32
// (Atomics.wait) until the rank thread has posted the answer and set it; the answer is then
// read synchronously (receiveMessageOnPort): the Wasm thread never returns to its event loop
// while the program runs.
//
// Measured (Node 20, the 2-core VM at load average 7, 100,000 null requests answered at
// once, /tmp-style script of blockingCaller + answer): 34-43 µs a round trip. Under the
// same load a bare Atomics ping-pong between a blocked thread and an event loop
// (Atomics.waitAsync) takes 25 µs, so the two thread wake-ups are most of it; waking the
// rank thread by Atomics.waitAsync instead of the port's message event measured 29-36 µs,
// within the noise, so the port (ordered with the program's output) stays.
//
// In bench/wasm-mpi.ts's 8 B ping-pong (2 ranks on 2 runners, load 4-10, timestamps taken on
// both threads): a request reached the rank thread in 30-50 µs, an answer the Wasm thread in
// 55-95 µs after it was posted; comm()'s send took 60-100 µs to resolve. So sends do not wait
// (post, oneWayPoster): a round trip crosses 4 wake-ups instead of 6. A bounded spin (50 µs,
// Atomics.load) before Atomics.wait made the ping-pong slower, 2 runs each, same load 15:
// p50 442-654 µs spinning against 352-586 µs not (it takes the core the rank thread of the
// same rank, or the other rank, needs): none. Big answers move their buffers (mpi/replies.ts).

/** What the Wasm thread starts with (its workerData). */
export interface WasmThreadData {
  module: WebAssembly.Module;
  rank: number;
  size: number;
  /** argv[0] (the program's file name) and the arguments after it. */
  argv: string[];
  env: Record<string, string>;
  port: MessagePort;
  /** Int32 flag: 1 once the answer to the pending request is on the port. */
  flag: SharedArrayBuffer;
}

/** Wasm thread -> rank thread. */
export type FromWasm =
  | { t: "call"; req: MpiRequest }
  /** A request not answered (WasmSide.post): only its failure is heard of, as the rank's. */
  | { t: "post"; req: MpiRequest }
  | { t: "out"; fd: 1 | 2; bytes: Uint8Array }
  /** The module imports what is not provided: refused before the program started. */
  | { t: "refused"; unknown: string[] }
  | { t: "exit"; code: number }
  | { t: "trap"; message: string; stack: string }
  /** A Strand error thrown by an import (MpiError, MpiAbortError): rebuilt by its code. */
  | { t: "error"; code: string; name: string; message: string; fields: Record<string, unknown>; stack: string }
  | { t: "thrown"; name: string; message: string; stack: string };

/** Rank thread -> Wasm thread: the answer to the pending request. */
export interface Answer { value: unknown }

/** The Wasm thread's half: post a request, block until it is answered. */
export function blockingCaller(port: MessagePort, flag: Int32Array): (req: MpiRequest, transfer?: ArrayBuffer[]) => unknown {
  return (req, transfer) => {
    port.postMessage({ t: "call", req } satisfies FromWasm, transfer);
    for (;;) {
      Atomics.wait(flag, 0, 0);
      const m = receiveMessageOnPort(port) as { message: Answer } | undefined;
      if (m !== undefined) {
        Atomics.store(flag, 0, 0);
        return m.message.value;
      }
    }
  };
}

/** The Wasm thread's half for requests it does not wait for: in order with the others. */
export function oneWayPoster(port: MessagePort): (req: MpiRequest, transfer?: ArrayBuffer[]) => void {
  return (req, transfer) => port.postMessage({ t: "post", req } satisfies FromWasm, transfer);
}

/** The rank thread's half: answer the pending request. */
export function answer(port: MessagePort, flag: Int32Array, value: unknown, transfer?: ArrayBuffer[]): void {
  // The message is in the Wasm thread's queue when postMessage returns: set the flag after it.
  port.postMessage({ value } satisfies Answer, transfer ?? []);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}
