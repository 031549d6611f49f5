import { readFile, rm } from "node:fs/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import * as abi from "../src/runner/wasm/mpi/abi.ts";
import { PREDEFINED_TYPES } from "../src/runner/wasm/mpi/datatypes.ts";
import { mpiImports } from "../src/runner/wasm/mpi/index.ts";
import { NAMED_OPS } from "../src/runner/wasm/mpi/ops.ts";
import { tempDir } from "./helpers.ts";
import { compileFixture } from "./wasm-programs.ts";

// include/mpi.h and the runner must agree on every number: compiled by clang, the header's
// constants, datatype sizes and status layout are read back and compared with the runner's.

let dir: string;
let exp: Record<string, (...a: number[]) => number>;

beforeAll(async () => {
  dir = await tempDir("strand-wasm-abi-");
  const wasm = compileFixture(dir, "abi", "-mexec-model=reactor");
  const module = new WebAssembly.Module(await readFile(wasm));
  const wasi = Object.fromEntries(WebAssembly.Module.imports(module).filter((i) => i.module !== "strand_mpi").map((i) => [i.name, () => 0]));
  exp = new WebAssembly.Instance(module, { wasi_snapshot_preview1: wasi }).exports as typeof exp;
});
afterAll(() => rm(dir, { recursive: true, force: true }));

it("the header's constants and MPI_Status layout are the runner's", () => {
  const got = Array.from({ length: exp.constant_count!() }, (_, i) => exp.constant!(i));
  expect(got).toEqual([
    abi.MPI_SUCCESS, abi.ANY_SOURCE, abi.ANY_TAG, abi.PROC_NULL, abi.UNDEFINED,
    abi.IN_PLACE, abi.STATUS_IGNORE, abi.STATUS_IGNORE,
    abi.COMM_NULL, abi.COMM_WORLD, abi.COMM_SELF, abi.GROUP_NULL, abi.GROUP_EMPTY, abi.REQUEST_NULL, abi.OP_NULL, abi.DATATYPE_NULL,
    abi.IDENT, abi.CONGRUENT, abi.SIMILAR, abi.UNEQUAL,
    abi.STATUS_BYTES, abi.STATUS_SOURCE, abi.STATUS_TAG, abi.STATUS_ERROR, abi.STATUS_COUNT, abi.STATUS_CANCELLED,
    abi.MAX_PROCESSOR_NAME, abi.MAX_LIBRARY_VERSION_STRING,
  ]);
});

it("every predefined datatype has the extent C gives it, pair types included", () => {
  const got = new Map(Array.from({ length: exp.type_count!() }, (_, i) => [exp.type_handle!(i), exp.type_extent!(i)]));
  expect(got.size).toBe(PREDEFINED_TYPES.size);
  for (const [h, t] of PREDEFINED_TYPES) expect([t.name, got.get(h)]).toEqual([t.name, t.extent]);
});

it("the predefined ops are the runner's, and every function the header imports exists", () => {
  expect(Array.from({ length: exp.op_count!() }, (_, i) => exp.op_handle!(i))).toEqual([...NAMED_OPS.keys()]);
  const provided = Object.keys(mpiImports({ rank: 0, size: 1, memory: () => new WebAssembly.Memory({ initial: 1 }), call: () => undefined }));
  // The reactor calls no MPI function, so it imports none: the header's list comes from its source.
  return readFile(new URL("../include/mpi.h", import.meta.url), "utf8").then((h) => {
    const declared = [...h.matchAll(/STRAND_MPI_IMPORT\((MPI_\w+)\)/g)].map((m) => m[1]!);
    expect(declared.length).toBeGreaterThan(60);
    expect(declared.filter((d) => !provided.includes(d))).toEqual([]);
    expect(provided.filter((p) => !declared.includes(p))).toEqual([]);
  });
});
