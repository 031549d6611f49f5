import { OP_NULL } from "./abi.ts";
import { Call } from "./call.ts";
import type { Datatype } from "./datatypes.ts";
import type { NamedOpName } from "./messages.ts";
import { NAMED_OPS, opMisfit, type OpInfo } from "./ops.ts";
import type { RankState } from "./rank-state.ts";
import type { MpiImport } from "./side.ts";

// User reduction ops (MPI_Op_create). The function is a C function pointer: an index into the
// instance's function table, callable only on the Wasm thread, which is blocked inside the MPI
// call while the rank thread runs the collective. So a collective with a user op moves the
// ranks' data (gather or allgather) and the Wasm thread folds it in rank order by calling the
// function through mpi.h's exported trampoline (strand_mpi_call_op), on scratch memory from
// the program's own malloc (strand_mpi_alloc). Slower than the predefined ops for many ranks
// (the data of all ranks meets in one place), exact for non-commutative functions.

export type ResolvedOp = { readonly named: NamedOpName } | { readonly fn: number; readonly commute: boolean };

/** The op a handle names, checked against the datatype it will reduce. */
export function resolveOp(c: Call, handle: number, type: Datatype): ResolvedOp {
  const named = NAMED_OPS.get(handle);
  const op: OpInfo | undefined = named !== undefined ? { named } : c.st.ops.get(handle);
  if (op === undefined) throw c.fail(handle === OP_NULL ? "MPI_OP_NULL is not an operation" : `unknown op handle ${handle}`);
  if ("named" in op) {
    const why = opMisfit(op.named, type.kind, type.name);
    if (why !== undefined) throw c.fail(why);
  }
  return op;
}

type Fn = (...a: number[]) => number;

/** blocks[0] op blocks[1] op … op blocks[n-1], by the C function `fn` (count elements of `typeHandle`). */
export function foldWithUserOp(c: Call, fn: number, blocks: readonly Uint8Array[], count: number, typeHandle: number): Uint8Array {
  if (blocks.length === 0) throw c.fail("internal: nothing to reduce");
  if (blocks.length === 1) return blocks[0]!;
  const exp = c.st.side.exports?.();
  const call = exp?.strand_mpi_call_op as Fn | undefined;
  const alloc = exp?.strand_mpi_alloc as Fn | undefined;
  const free = exp?.strand_mpi_free as Fn | undefined;
  if (call === undefined || alloc === undefined || free === undefined) {
    throw c.fail("a user op needs the program's strand_mpi_call_op, strand_mpi_alloc and strand_mpi_free exports (compile with Strand's mpi.h)");
  }
  const bytes = blocks[0]!.byteLength;
  for (const b of blocks) if (b.byteLength !== bytes) throw c.fail(`ranks gave ${bytes} and ${b.byteLength} bytes to reduce`);
  const scratch = alloc(2 * bytes + 8) >>> 0;
  if (scratch === 0) throw c.fail(`no memory for ${2 * bytes + 8} bytes of scratch space for the user op`);
  try {
    const inPtr = scratch;
    const inout = scratch + bytes;
    const len = scratch + 2 * bytes;
    const mem = () => c.st.side.memory().buffer;
    new Uint8Array(mem(), inout, bytes).set(blocks[blocks.length - 1]!);
    // inout = in op inout, from the highest rank down: the result is in rank order.
    for (let i = blocks.length - 2; i >= 0; i--) {
      new Uint8Array(mem(), inPtr, bytes).set(blocks[i]!);
      const dv = new DataView(mem());
      dv.setInt32(len, count, true);
      dv.setInt32(len + 4, typeHandle, true);
      call(fn, inPtr, inout, len, len + 4);
    }
    return new Uint8Array(mem().slice(inout, inout + bytes));
  } finally {
    free(scratch);
  }
}

export function opImports(st: RankState): Record<string, MpiImport> {
  return {
    MPI_Op_create: (fn, commute, op) => {
      const c = new Call(st, "MPI_Op_create");
      const out = c.span("op", op!, 4);
      c.setInt(out.ptr, st.ops.add({ fn: fn!, commute: commute !== 0 }), "op");
      return 0;
    },
    MPI_Op_free: (op) => {
      const c = new Call(st, "MPI_Op_free");
      const h = c.int(op, "op");
      if (NAMED_OPS.has(h)) throw c.fail(`predefined op ${h} cannot be freed`);
      if (!st.ops.delete(h)) throw c.fail(`unknown op handle ${h}`);
      c.setInt(op, OP_NULL, "op");
      return 0;
    },
  };
}
