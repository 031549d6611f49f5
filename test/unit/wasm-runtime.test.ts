import { describe, expect, it } from "vitest";
import { clangArgs, missingToolchain } from "../../src/cli/cc-command.ts";
import { wasmExitStatus } from "../../src/cli/mpirun-command.ts";
import { isWasmProgram, jobSettings } from "../../src/driver/wasm-program.ts";
import { JobAbortedError, MpiAbortError, WasmExitError } from "../../src/errors.ts";
import { capMemory, MemoryOverLimit } from "../../src/runner/wasm/module-bytes.ts";

// The pure parts of running C programs as ranks: the memory cap rewritten into a module,
// mpirun's exit status, strand cc's clang command, the job's settings.

/** A module with one memory (limits as given), exporting it ("m") and a function ("f") after it. */
function moduleWith(limits: number[]): Uint8Array {
  const type = [0x01, 0x04, 0x01, 0x60, 0x00, 0x00];
  const func = [0x03, 0x02, 0x01, 0x00];
  const memory = [0x05, limits.length + 1, 0x01, ...limits];
  const exp = [0x07, 0x09, 0x02, 0x01, 0x66, 0x00, 0x00, 0x01, 0x6d, 0x02, 0x00];
  const code = [0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b];
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...type, ...func, ...memory, ...exp, ...code]);
}

const memoryOf = (bytes: Uint8Array): WebAssembly.Memory => {
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes));
  expect(typeof inst.exports.f).toBe("function"); // the sections after the rewritten one survived
  return inst.exports.m as WebAssembly.Memory;
};

describe("capMemory", () => {
  it("adds a maximum where the module declares none, so memory.grow fails past it", () => {
    const mem = memoryOf(capMemory(moduleWith([0x00, 0x01]), 3));
    expect(mem.grow(2)).toBe(1);
    expect(() => mem.grow(1)).toThrow(RangeError);
  });

  it("keeps a smaller declared maximum, lowers a larger one", () => {
    const small = moduleWith([0x01, 0x01, 0x02]);
    expect(capMemory(small, 3)).toBe(small);
    const mem = memoryOf(capMemory(moduleWith([0x01, 0x01, 0x80, 0x02]), 3)); // max 256 (two-byte LEB)
    expect(mem.grow(2)).toBe(1);
    expect(() => mem.grow(1)).toThrow(RangeError);
  });

  it("refuses a module whose initial memory is over the limit, and what is not a module", () => {
    expect(() => capMemory(moduleWith([0x00, 0x05]), 3)).toThrow(MemoryOverLimit);
    expect(() => capMemory(new Uint8Array([1, 2, 3]), 3)).toThrow(/not a WebAssembly binary/);
  });
});

describe("strand mpirun's exit status for a C program", () => {
  it("is MPI_Abort's code, else a rank's exit status, else 1", () => {
    const abort = new JobAbortedError(2, "x", { cause: new Error("wrapped", { cause: new MpiAbortError(2, 42) }) });
    expect(wasmExitStatus(abort)).toBe(42);
    expect(wasmExitStatus(new JobAbortedError(1, "x", { cause: new WasmExitError(1, 5) }))).toBe(5);
    expect(wasmExitStatus(new JobAbortedError(1, "x", { cause: new WasmExitError(1, 256) }))).toBe(1); // a byte that reads as 0
    expect(wasmExitStatus(new Error("lost"))).toBe(1);
  });
});

describe("strand cc", () => {
  it("adds the target, Strand's include folder, and -O2 unless an -O is given", () => {
    expect(clangArgs(["p.c", "-o", "p.wasm"], "/pkg/include/")).toEqual(["--target=wasm32-wasi", "-I/pkg/include/", "-O2", "p.c", "-o", "p.wasm"]);
    expect(clangArgs(["-O3", "-msimd128", "p.c"], "/i/")).toEqual(["--target=wasm32-wasi", "-I/i/", "-O3", "-msimd128", "p.c"]);
  });

  it("names what is missing from clang's complaint", () => {
    expect(missingToolchain("wasm-ld-14: error: unable to find library -lc")).toBe("wasi-libc is missing");
    expect(missingToolchain("p.c:1:10: error: unknown type name 'x'")).toBeUndefined();
  });
});

describe("a C program's job", () => {
  it("is a path or URL ending in .wasm", () => {
    expect(isWasmProgram("a/b.wasm")).toBe(true);
    expect(isWasmProgram(new URL("file:///x/p.WASM"))).toBe(true);
    expect(isWasmProgram("m.ts")).toBe(false);
    expect(isWasmProgram(() => 0)).toBe(false);
  });

  it("checks the environment and memory limit it is given", () => {
    expect(jobSettings({ env: { A: "1" }, memoryMiB: 64 })).toEqual({ env: { A: "1" }, memoryMiB: 64 });
    expect(jobSettings(undefined)).toEqual({ env: {} });
    expect(() => jobSettings({ env: { "A=B": "1" } })).toThrow(TypeError);
    expect(() => jobSettings({ memoryMiB: 5000 })).toThrow(/1\.\.4096/);
  });
});
