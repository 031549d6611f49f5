import v8 from "node:v8";

// Runners compile WebAssembly with V8's optimizing compiler (TurboFan) up front, not with its
// baseline compiler (Liftoff) first. V8 tiers a function up only on a later call, so a kernel
// called once per task (a block of matmul rows, a chunk of words) runs its whole call on
// baseline code: 1024x256 rows of examples/matmul took 169 ms on a fresh instance against 36
// ms once tiered up, and 55 ms with --no-liftoff (the first call pays its page faults). The
// compile itself stays cheap (matmul.wasm: 2 ms) and happens once per runner (compile-cache.ts).
// Set before the runner compiles anything; V8's flags are the process's, so its worker
// threads (ranks, Wasm threads) share it.

let done = false;

export function optimizeWasmEagerly(): void {
  if (done) return;
  done = true;
  v8.setFlagsFromString("--no-liftoff");
}
