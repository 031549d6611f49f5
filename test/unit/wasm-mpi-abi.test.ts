import { describe, expect, it } from "vitest";
import { MpiError } from "../../src/errors.ts";
import { STATUS_BYTES } from "../../src/runner/wasm/mpi/abi.ts";
import { mpiImports } from "../../src/runner/wasm/mpi/index.ts";
import { commOp, elementsOf, fromCommElements, toCommElements } from "../../src/runner/wasm/mpi/ops.ts";
import { FakeSide, fakeRank } from "./wasm-mpi-fake-side.ts";

// The MPI imports against a fake Wasm side: bounds checks before any byte moves, handles,
// datatypes and the status layout, without runners. test/wasm-mpi-*.test.ts run C programs.

const WORLD = 1, INT = 7, DOUBLE = 14, DOUBLE_INT = 31, SHORT_INT = 34, LONG = 9, LONG_LONG = 11, BOOL = 15;
const SUM = 3, BAND = 6, LAND = 5, MAXLOC = 11, MINLOC = 12;
const PAGE = 65536;

function mpiError(f: () => unknown): MpiError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(MpiError);
    return err as MpiError;
  }
  throw new Error("no error");
}

describe("bounds checks", () => {
  it("refuses a send buffer one element past the end of memory, before reading it", () => {
    const { side, mpi } = fakeRank();
    const ptr = PAGE - 4 * 10;
    expect(mpi.MPI_Send!(ptr, 10, INT, 0, 0, WORLD)).toBe(0);
    expect(side.calls).toHaveLength(1);
    const e = mpiError(() => mpi.MPI_Send!(ptr, 11, INT, 0, 0, WORLD));
    expect(e.call).toBe("MPI_Send");
    expect(e.rank).toBe(0);
    expect(e.message).toMatch(/^MPI_Send on rank 0: send buffer: 44 bytes at 0xffd8 run 4 bytes past the end of memory/);
    expect(side.calls).toHaveLength(1);
  });

  it("refuses a receive one element too long at the end of memory and writes nothing", () => {
    const { side, mpi } = fakeRank(3, 4);
    const ptr = PAGE - 8 * 4;
    side.u8.fill(0x5a, ptr);
    const e = mpiError(() => mpi.MPI_Recv!(ptr, 5, DOUBLE, -1, -1, WORLD, 0));
    expect(e.message).toMatch(/^MPI_Recv on rank 3: receive buffer: 40 bytes/);
    expect(side.calls).toEqual([]);
    expect(side.u8.subarray(ptr).every((b) => b === 0x5a)).toBe(true);
  });

  it("refuses a negative count and a pointer past memory", () => {
    const { side, mpi } = fakeRank();
    expect(mpiError(() => mpi.MPI_Send!(64, -1, INT, 0, 0, WORLD)).message).toBe("MPI_Send on rank 0: send buffer count -1 is negative");
    expect(mpiError(() => mpi.MPI_Bcast!(PAGE + 16, 0, INT, 0, WORLD)).message).toMatch(/MPI_Bcast on rank 0: buffer: pointer 0x10010 is past the end of memory \(65536 bytes\)/);
    // A pointer above 2 GiB arrives as a negative i32: read unsigned, still past memory.
    expect(mpiError(() => mpi.MPI_Recv!(-8, 1, INT, 0, 0, WORLD, 0)).message).toMatch(/pointer 0xfffffff8 is past the end/);
    expect(side.calls).toEqual([]);
  });

  it("checks the root's whole gather buffer (count x size) and the status before anything moves", () => {
    const { side, mpi } = fakeRank(0, 4);
    side.answer = () => [new Uint8Array(4), new Uint8Array(4), new Uint8Array(4), new Uint8Array(4)];
    expect(mpi.MPI_Gather!(0, 1, INT, PAGE - 16, 1, INT, 0, WORLD)).toBe(0);
    expect(mpiError(() => mpi.MPI_Gather!(0, 1, INT, PAGE - 12, 1, INT, 0, WORLD)).message).toMatch(/MPI_Gather on rank 0: receive buffer: 16 bytes/);
    expect(mpiError(() => mpi.MPI_Probe!(0, 0, WORLD, PAGE - STATUS_BYTES + 4)).message).toMatch(/MPI_Probe on rank 0: status: 20 bytes/);
    expect(side.calls).toHaveLength(1);
  });

  it("checks every block of a vector collective against its displacement", () => {
    const { side, mpi } = fakeRank(0, 2);
    const counts = 1024, displs = 1032, buf = 2048;
    side.dv.setInt32(counts, 2, true);
    side.dv.setInt32(counts + 4, 2, true);
    side.dv.setInt32(displs, 0, true);
    side.dv.setInt32(displs + 4, (PAGE - buf) / 4 - 1, true); // the second block's last int is past memory
    expect(mpiError(() => mpi.MPI_Gatherv!(64, 2, INT, buf, counts, displs, INT, 0, WORLD)).message).toMatch(/receive buffer block 1: 8 bytes .* run 4 bytes past/);
    side.dv.setInt32(displs + 4, -600, true);
    expect(mpiError(() => mpi.MPI_Gatherv!(64, 2, INT, buf, counts, displs, INT, 0, WORLD)).message).toMatch(/displacement -600 points before address 0/);
    expect(side.calls).toEqual([]);
  });

  it("refuses unknown handles and calls before MPI_Init", () => {
    const side = new FakeSide();
    const mpi = mpiImports(side);
    expect(mpiError(() => mpi.MPI_Barrier!(WORLD)).message).toBe("MPI_Barrier on rank 0: MPI is not initialized (call MPI_Init first)");
    mpi.MPI_Init!(0, 0);
    expect(mpiError(() => mpi.MPI_Barrier!(77)).message).toBe("MPI_Barrier on rank 0: unknown communicator handle 77");
    expect(mpiError(() => mpi.MPI_Send!(64, 1, 99, 0, 0, WORLD)).message).toBe("MPI_Send on rank 0: send buffer datatype: unknown datatype handle 99");
    expect(mpiError(() => mpi.MPI_Allreduce!(64, 128, 1, INT, 500, WORLD)).message).toBe("MPI_Allreduce on rank 0: unknown op handle 500");
    side.dv.setInt32(64, 12345, true);
    expect(mpiError(() => mpi.MPI_Wait!(64, 0)).message).toBe("MPI_Wait on rank 0: unknown request handle 12345");
    expect(mpiError(() => mpi.MPI_Send!(64, 1, INT, 1, 0, WORLD)).message).toBe("MPI_Send on rank 0: dest 1 is not a rank of a communicator of size 1");
    expect(mpiError(() => mpi.MPI_Send!(64, 1, INT, 0, -5, WORLD)).message).toBe("MPI_Send on rank 0: tag -5 is negative");
  });
});

describe("datatypes", () => {
  it("gives pair types their C size and extent, and derived types need a commit", () => {
    const { side, mpi } = fakeRank();
    const at = (p: number) => side.dv.getInt32(p, true);
    mpi.MPI_Type_size!(DOUBLE_INT, 0);
    mpi.MPI_Type_get_extent!(DOUBLE_INT, 4, 8);
    expect([at(0), at(4), at(8)]).toEqual([12, 0, 16]);
    mpi.MPI_Type_size!(SHORT_INT, 0);
    mpi.MPI_Type_get_extent!(SHORT_INT, 4, 8);
    expect([at(0), at(8)]).toEqual([6, 8]);
    mpi.MPI_Type_size!(LONG, 0);
    expect(at(0)).toBe(4);
    mpi.MPI_Type_contiguous!(3, DOUBLE, 16);
    const t = at(16);
    mpi.MPI_Type_size!(t, 0);
    expect(at(0)).toBe(24);
    expect(mpiError(() => mpi.MPI_Send!(64, 1, t, 0, 0, WORLD)).message).toMatch(/is not committed/);
    mpi.MPI_Type_commit!(16);
    mpi.MPI_Send!(64, 2, t, 0, 0, WORLD);
    expect((side.calls[0] as { data: Uint8Array }).data.byteLength).toBe(48);
    mpi.MPI_Type_free!(16);
    expect(at(16)).toBe(0);
    side.dv.setInt32(20, DOUBLE, true);
    expect(mpiError(() => mpi.MPI_Type_free!(20)).message).toBe("MPI_Type_free on rank 0: predefined datatype MPI_DOUBLE cannot be freed");
  });

  it("sends reductions as bytes with their element kind, and refuses ops a type does not take", () => {
    const { side, mpi } = fakeRank();
    mpi.MPI_Allreduce!(0, 256, 4, DOUBLE, SUM, WORLD);
    mpi.MPI_Allreduce!(0, 256, 3, DOUBLE_INT, MAXLOC, WORLD);
    mpi.MPI_Allreduce!(0, 256, 2, LONG_LONG, BAND, WORLD);
    mpi.MPI_Allreduce!(0, 256, 2, BOOL, LAND, WORLD);
    expect(side.calls.map((c) => [c.op, (c as { kind: string }).kind, (c as { rop: string }).rop, (c as { data: Uint8Array }).data.byteLength])).toEqual([
      ["allreduce", "f64", "sum", 32], ["allreduce", "f64+i32", "maxloc", 48], ["allreduce", "i64", "band", 16], ["allreduce", "bool", "land", 2],
    ]);
    expect(mpiError(() => mpi.MPI_Allreduce!(0, 256, 1, DOUBLE_INT, SUM, WORLD)).message).toMatch(/MPI_SUM does not apply to MPI_DOUBLE_INT/);
    expect(mpiError(() => mpi.MPI_Allreduce!(0, 256, 1, INT, MINLOC, WORLD)).message).toMatch(/MPI_MINLOC does not apply to MPI_INT/);
    expect(mpiError(() => mpi.MPI_Allreduce!(0, 256, 1, DOUBLE, BAND, WORLD)).message).toMatch(/MPI_BAND does not apply to MPI_DOUBLE/);
    expect(side.calls).toHaveLength(4);
  });

  it("MPI_IN_PLACE takes the data from the receive buffer", () => {
    const { side, mpi } = fakeRank();
    new Float64Array(side.mem.buffer, 256, 2).set([1.5, 2.5]);
    mpi.MPI_Allreduce!(-1, 256, 2, DOUBLE, SUM, WORLD);
    const sent = side.calls[0] as { data: Uint8Array };
    expect(Array.from(new Float64Array(sent.data.buffer, sent.data.byteOffset, 2))).toEqual([1.5, 2.5]);
  });
});

describe("status", () => {
  it("records source, tag and size; MPI_Get_count divides by the extent", () => {
    const { side, mpi } = fakeRank();
    side.answer = () => ({ data: new Uint8Array(24), source: 0, tag: 7 });
    side.dv.setInt32(1000 + 8, 99, true);
    mpi.MPI_Recv!(0, 4, DOUBLE_INT, 0, 7, WORLD, 1000);
    const i = (o: number) => side.dv.getInt32(1000 + o, true);
    expect([i(0), i(4), i(8), i(12), i(16)]).toEqual([0, 7, 0, 24, 0]);
    mpi.MPI_Get_count!(1000, INT, 2000);
    expect(side.dv.getInt32(2000, true)).toBe(6);
    mpi.MPI_Get_count!(1000, DOUBLE_INT, 2000);
    expect(side.dv.getInt32(2000, true)).toBe(-32766); // 24 bytes are not whole 16-byte pairs: MPI_UNDEFINED
  });

  it("a message longer than the receive buffer is truncation, and nothing is written", () => {
    const { side, mpi } = fakeRank();
    side.answer = () => ({ data: new Uint8Array(12).fill(1), source: 0, tag: 0 });
    side.u8.fill(0x5a, 0, 16);
    expect(mpiError(() => mpi.MPI_Recv!(0, 2, INT, 0, 0, WORLD, 0)).message).toBe("MPI_Recv on rank 0: message truncated: 12 bytes arrived for a receive buffer of 8 bytes");
    expect(side.u8.subarray(0, 16).every((b) => b === 0x5a)).toBe(true);
  });
});

const list = (v: ArrayLike<number | bigint>) => Array.from(v as ArrayLike<number>);

describe("ops on the rank thread", () => {
  const pairBytes = (v: [number, number][]) => {
    const b = new Uint8Array(16 * v.length).fill(0xee);
    const dv = new DataView(b.buffer);
    v.forEach(([x, i], k) => {
      dv.setFloat64(16 * k, x, true);
      dv.setInt32(16 * k + 8, i, true);
    });
    return b;
  };

  it("pair types go to comm() as interleaved pairs and come back in C's layout", () => {
    const pairs = toCommElements("f64+i32", pairBytes([[1.5, 7], [-2, 3]]));
    expect(list(pairs)).toEqual([1.5, 7, -2, 3]);
    const back = fromCommElements("f64+i32", pairs);
    const dv = new DataView(back.buffer);
    expect([dv.getFloat64(0, true), dv.getInt32(8, true), dv.getFloat64(16, true), dv.getInt32(24, true), back.byteLength]).toEqual([1.5, 7, -2, 3, 32]);
    const shorts = new Uint8Array(16);
    new DataView(shorts.buffer).setInt16(8, -3, true);
    new DataView(shorts.buffer).setInt32(12, 9, true);
    expect(list(toCommElements("i16+i32", shorts))).toEqual([0, 0, -3, 9]);
    expect(fromCommElements("i16+i32", Float64Array.of(0, 0, -3, 9))).toEqual(shorts);
  });

  it("ops go to comm() by name, but 32-bit products keep their low bits", () => {
    expect(commOp("maxloc", "f64+i32")).toBe("maxloc");
    expect(commOp("band", "u64")).toBe("band");
    expect(commOp("prod", "f64")).toBe("prod");
    const prod = commOp("prod", "i32") as (a: Int32Array, b: Int32Array) => Int32Array;
    expect(list(prod(Int32Array.of(123456789), Int32Array.of(987654321)))).toEqual([Math.imul(123456789, 987654321)]);
  });

  it("reads bytes at any offset as aligned elements", () => {
    const frame = new Uint8Array(9);
    new DataView(frame.buffer).setFloat64(1, 2.5, true);
    expect(list(elementsOf("f64", frame.subarray(1)))).toEqual([2.5]);
  });
});
