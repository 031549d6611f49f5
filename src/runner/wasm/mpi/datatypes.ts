import { DATATYPE_NULL, FIRST_TYPE } from "./abi.ts";
import { Handles } from "./handles.ts";

// MPI datatypes as wasm32 C lays them out. A message carries count x extent raw bytes, so C ranks
// interoperate byte for byte; reductions read those bytes as the type's element kind.

/**
 * How reductions read an element. Pair kinds are MAXLOC/MINLOC's structs: a value, then an int
 * index, at the offsets C gives them (padding included).
 */
export type ScalarKind = "i8" | "u8" | "i16" | "u16" | "i32" | "u32" | "i64" | "u64" | "f32" | "f64" | "bool" | "byte";
export type PairKind = "f32+i32" | "f64+i32" | "i32+i32" | "i16+i32";
export type ElementKind = ScalarKind | PairKind;

export interface Datatype {
  readonly name: string;
  /** Bytes of data (MPI_Type_size: padding excluded). */
  readonly size: number;
  /** Bytes from one element to the next (MPI_Type_get_extent). */
  readonly extent: number;
  readonly kind: ElementKind;
  /** Elements of `kind` in one of this type (a contiguous type of n pairs holds n). */
  readonly elements: number;
  readonly predefined: boolean;
  committed: boolean;
}

/** Bytes of one element of each kind, and of a pair kind's value before its index. */
export const KIND_BYTES: Record<ElementKind, number> = {
  i8: 1, u8: 1, bool: 1, byte: 1, i16: 2, u16: 2, i32: 4, u32: 4, i64: 8, u64: 8, f32: 4, f64: 8,
  "f32+i32": 8, "f64+i32": 16, "i32+i32": 8, "i16+i32": 8,
};

export function isPair(kind: ElementKind): kind is PairKind {
  return kind.includes("+");
}

const scalar = (name: string, kind: ScalarKind): Datatype => ({ name, size: KIND_BYTES[kind], extent: KIND_BYTES[kind], kind, elements: 1, predefined: true, committed: true });
const pair = (name: string, kind: PairKind, size: number): Datatype => ({ name, size, extent: KIND_BYTES[kind], kind, elements: 1, predefined: true, committed: true });

/** The predefined types by handle (include/mpi.h). long is 4 bytes in wasm32, char is signed. */
export const PREDEFINED_TYPES: ReadonlyMap<number, Datatype> = new Map([
  [1, scalar("MPI_CHAR", "i8")],
  [2, scalar("MPI_SIGNED_CHAR", "i8")],
  [3, scalar("MPI_UNSIGNED_CHAR", "u8")],
  [4, scalar("MPI_BYTE", "byte")],
  [5, scalar("MPI_SHORT", "i16")],
  [6, scalar("MPI_UNSIGNED_SHORT", "u16")],
  [7, scalar("MPI_INT", "i32")],
  [8, scalar("MPI_UNSIGNED", "u32")],
  [9, scalar("MPI_LONG", "i32")],
  [10, scalar("MPI_UNSIGNED_LONG", "u32")],
  [11, scalar("MPI_LONG_LONG", "i64")],
  [12, scalar("MPI_UNSIGNED_LONG_LONG", "u64")],
  [13, scalar("MPI_FLOAT", "f32")],
  [14, scalar("MPI_DOUBLE", "f64")],
  [15, scalar("MPI_C_BOOL", "bool")],
  [16, scalar("MPI_INT8_T", "i8")],
  [17, scalar("MPI_INT16_T", "i16")],
  [18, scalar("MPI_INT32_T", "i32")],
  [19, scalar("MPI_INT64_T", "i64")],
  [20, scalar("MPI_UINT8_T", "u8")],
  [21, scalar("MPI_UINT16_T", "u16")],
  [22, scalar("MPI_UINT32_T", "u32")],
  [23, scalar("MPI_UINT64_T", "u64")],
  [24, scalar("MPI_WCHAR", "i32")],
  [25, scalar("MPI_AINT", "i32")],
  [26, scalar("MPI_OFFSET", "i64")],
  [27, scalar("MPI_COUNT", "i64")],
  [30, pair("MPI_FLOAT_INT", "f32+i32", 8)],
  [31, pair("MPI_DOUBLE_INT", "f64+i32", 12)],
  [32, pair("MPI_LONG_INT", "i32+i32", 8)],
  [33, pair("MPI_2INT", "i32+i32", 8)],
  [34, pair("MPI_SHORT_INT", "i16+i32", 6)],
]);

/** One rank's datatypes: the predefined ones and those it derived. */
export class Datatypes {
  private readonly table = new Handles<Datatype>(FIRST_TYPE);

  constructor() {
    for (const [h, t] of PREDEFINED_TYPES) this.table.set(h, t);
  }

  /** The type, or why it cannot carry data (the caller names the call). */
  lookup(handle: number): Datatype | string {
    if (handle === DATATYPE_NULL) return "MPI_DATATYPE_NULL is not a datatype";
    const t = this.table.get(handle);
    if (t === undefined) return `unknown datatype handle ${handle}`;
    if (!t.committed) return `datatype ${handle} (${t.name}) is not committed (MPI_Type_commit)`;
    return t;
  }

  /** Any known type, committed or not (Type_size, Type_commit, Type_free accept both). */
  any(handle: number): Datatype | undefined {
    return this.table.get(handle);
  }

  contiguous(count: number, old: Datatype): number {
    return this.table.add({
      name: `contiguous(${count}, ${old.name})`,
      size: count * old.size,
      extent: count * old.extent,
      kind: old.kind,
      elements: count * old.elements,
      predefined: false,
      committed: false,
    });
  }

  free(handle: number): boolean {
    const t = this.table.get(handle);
    if (t === undefined || t.predefined) return false;
    return this.table.delete(handle);
  }
}
