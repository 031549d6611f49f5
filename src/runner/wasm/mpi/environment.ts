import { hostname } from "node:os";
import { MpiAbortError } from "../../../errors.ts";
import { MAX_LIBRARY_VERSION_STRING, MAX_PROCESSOR_NAME } from "./abi.ts";
import { Call } from "./call.ts";
import type { RankState } from "./rank-state.ts";
import type { MpiImport } from "./side.ts";

// Starting and ending MPI, time, versions and names, and datatypes' sizes and derivation.

export const LIBRARY_VERSION = "Strand MPI for WebAssembly (MPI 3.1 subset; docs/wasm.md)";

/** Writes a C string of at most `max` bytes (NUL included) and its length. */
function writeString(c: Call, ptr: number, lenPtr: number, text: string, max: number): void {
  const bytes = new TextEncoder().encode(text).subarray(0, max - 1);
  const s = c.span("string", ptr, bytes.byteLength + 1);
  c.span("resultlen", lenPtr, 4);
  const out = new Uint8Array(bytes.byteLength + 1);
  out.set(bytes);
  c.write(s, out);
  c.setInt(lenPtr, bytes.byteLength, "resultlen");
}

export function environmentImports(st: RankState): Record<string, MpiImport> {
  const t0 = performance.now();
  const init = (name: string) => {
    const c = new Call(st, name);
    if (st.initialized) throw c.fail("MPI is already initialized");
    st.initialized = true;
    return c;
  };
  return {
    MPI_Init: () => {
      init("MPI_Init");
      return 0;
    },
    MPI_Init_thread: (_argc, _argv, _required, provided) => {
      const c = init("MPI_Init_thread");
      c.setInt(provided!, 0, "provided"); // MPI_THREAD_SINGLE: a rank is one Wasm thread
      return 0;
    },
    MPI_Initialized: (flag) => {
      new Call(st, "MPI_Initialized").setInt(flag!, st.initialized ? 1 : 0, "flag");
      return 0;
    },
    MPI_Finalize: () => {
      const c = new Call(st, "MPI_Finalize").live();
      c.ask({ op: "barrier", comm: 1 });
      st.finalized = true;
      return 0;
    },
    MPI_Finalized: (flag) => {
      new Call(st, "MPI_Finalized").setInt(flag!, st.finalized ? 1 : 0, "flag");
      return 0;
    },
    MPI_Abort: (_comm, code) => {
      throw new MpiAbortError(st.side.rank, code!);
    },
    MPI_Wtime: () => (performance.now() - t0) / 1000,
    MPI_Wtick: () => 1e-9,
    MPI_Get_version: (version, subversion) => {
      const c = new Call(st, "MPI_Get_version");
      c.span("version", version!, 4);
      c.span("subversion", subversion!, 4);
      c.setInt(version!, 3, "version");
      c.setInt(subversion!, 1, "subversion");
      return 0;
    },
    MPI_Get_library_version: (version, len) => {
      writeString(new Call(st, "MPI_Get_library_version"), version!, len!, LIBRARY_VERSION, MAX_LIBRARY_VERSION_STRING);
      return 0;
    },
    MPI_Get_processor_name: (name, len) => {
      writeString(new Call(st, "MPI_Get_processor_name"), name!, len!, hostname(), MAX_PROCESSOR_NAME);
      return 0;
    },

    MPI_Type_size: (type, size) => {
      const c = new Call(st, "MPI_Type_size");
      const t = st.types.any(type!);
      if (t === undefined) throw c.fail(`unknown datatype handle ${type}`);
      c.setInt(size!, t.size, "size");
      return 0;
    },
    MPI_Type_get_extent: (type, lb, extent) => {
      const c = new Call(st, "MPI_Type_get_extent");
      const t = st.types.any(type!);
      if (t === undefined) throw c.fail(`unknown datatype handle ${type}`);
      c.span("lb", lb!, 4);
      c.span("extent", extent!, 4);
      c.setInt(lb!, 0, "lb");
      c.setInt(extent!, t.extent, "extent");
      return 0;
    },
    MPI_Type_contiguous: (count, old, out) => {
      const c = new Call(st, "MPI_Type_contiguous");
      const n = c.count(count!);
      const t = c.type(old!, "oldtype");
      c.span("newtype", out!, 4);
      c.setInt(out!, st.types.contiguous(n, t), "newtype");
      return 0;
    },
    MPI_Type_commit: (type) => {
      const c = new Call(st, "MPI_Type_commit");
      const h = c.int(type, "datatype");
      const t = st.types.any(h);
      if (t === undefined) throw c.fail(`unknown datatype handle ${h}`);
      t.committed = true;
      return 0;
    },
    MPI_Type_free: (type) => {
      const c = new Call(st, "MPI_Type_free");
      const h = c.int(type, "datatype");
      const t = st.types.any(h);
      if (t === undefined) throw c.fail(`unknown datatype handle ${h}`);
      if (t.predefined) throw c.fail(`predefined datatype ${t.name} cannot be freed`);
      st.types.free(h);
      c.setInt(type, 0, "datatype");
      return 0;
    },
  };
}
