import { MpiError } from "../../../errors.ts";
import { ANY_SOURCE, ANY_TAG, COMM_NULL, IN_PLACE, PROC_NULL } from "./abi.ts";
import type { Datatype } from "./datatypes.ts";
import { checkSpan, readSpan, writeSpan, type Span } from "./memory.ts";
import type { MpiCall } from "./messages.ts";
import type { CommInfo, RankState } from "./rank-state.ts";

// One MPI call on the Wasm thread: checks its arguments (handles, ranks, counts, buffers whole)
// and fails with an MpiError naming the call and the rank. Every check runs before the call
// reads or writes a byte or asks the rank thread anything.

/** A checked buffer: where it is, how many bytes, and of which type. */
export interface Buffer extends Span {
  readonly type: Datatype;
  readonly count: number;
}

export class Call {
  constructor(readonly st: RankState, readonly name: string) {}

  fail(reason: string): MpiError {
    return new MpiError(this.name, this.st.side.rank, reason);
  }

  /** Fails unless MPI_Init has run and MPI_Finalize has not. */
  live(): this {
    if (!this.st.initialized) throw this.fail("MPI is not initialized (call MPI_Init first)");
    if (this.st.finalized) throw this.fail("MPI is finalized");
    return this;
  }

  private mem(): ArrayBuffer {
    return this.st.side.memory().buffer;
  }

  span(what: string, ptr: number, bytes: number): Span {
    return checkSpan(this.mem(), ptr, bytes, what, (r) => this.fail(r));
  }

  count(n: number, what = "count"): number {
    if (!Number.isInteger(n) || n < 0) throw this.fail(`${what} ${n} is negative`);
    return n;
  }

  type(handle: number, what = "datatype"): Datatype {
    const t = this.st.type(handle);
    if (typeof t === "string") throw this.fail(`${what}: ${t}`);
    return t;
  }

  comm(handle: number): CommInfo {
    if (handle === COMM_NULL) throw this.fail("MPI_COMM_NULL is not a communicator");
    const c = this.st.comms.get(handle);
    if (c === undefined) throw this.fail(`unknown communicator handle ${handle}`);
    return c;
  }

  /** `count` elements of `type` at `ptr`, checked whole. */
  buffer(what: string, ptr: number, count: number, typeHandle: number, times = 1): Buffer {
    const n = this.count(count, `${what} count`);
    const type = this.type(typeHandle, `${what} datatype`);
    return { ...this.span(what, ptr, n * type.extent * times), type, count: n };
  }

  isInPlace(ptr: number): boolean {
    return ptr >>> 0 === IN_PLACE;
  }

  /** A destination or root rank of `c` (PROC_NULL where `procNull`). */
  rank(c: CommInfo, r: number, what: string, opts: { any?: boolean; procNull?: boolean } = {}): number {
    if (opts.procNull && r === PROC_NULL) return r;
    if (opts.any && r === ANY_SOURCE) return r;
    if (!Number.isInteger(r) || r < 0 || r >= c.size) throw this.fail(`${what} ${r} is not a rank of a communicator of size ${c.size}`);
    return r;
  }

  tag(t: number, what: string, any = false): number {
    if (any && t === ANY_TAG) return t;
    if (!Number.isInteger(t) || t < 0) throw this.fail(`${what} ${t} is negative${any ? " (and not MPI_ANY_TAG)" : ""}`);
    return t;
  }

  read(s: Span): Uint8Array {
    return readSpan(this.mem(), s);
  }

  /** Writes received bytes into a checked buffer; more than fits is MPI_ERR_TRUNCATE. */
  write(s: Span, data: Uint8Array, what = "receive buffer"): void {
    if (data.byteLength > s.bytes) throw this.fail(`message truncated: ${data.byteLength} bytes arrived for a ${what} of ${s.bytes} bytes`);
    writeSpan(this.mem(), s, data);
  }

  int(ptr: number, what: string): number {
    const s = this.span(what, ptr, 4);
    return new DataView(this.mem()).getInt32(s.ptr, true);
  }

  setInt(ptr: number, value: number, what: string): void {
    const s = this.span(what, ptr, 4);
    new DataView(this.mem()).setInt32(s.ptr, value, true);
  }

  /** `n` ints at `ptr` (an array argument), checked whole. */
  ints(ptr: number, n: number, what: string): number[] {
    const s = this.span(what, ptr, this.count(n, `${what} length`) * 4);
    const dv = new DataView(this.mem());
    return Array.from({ length: n }, (_, i) => dv.getInt32(s.ptr + 4 * i, true));
  }

  setInts(s: Span, values: readonly number[]): void {
    const dv = new DataView(this.mem());
    values.forEach((v, i) => dv.setInt32(s.ptr + 4 * i, v, true));
  }

  /** Asks the rank thread; sent buffers move rather than copy (each is a fresh copy of memory). */
  ask<R>(req: MpiCall, transfer: Uint8Array[] = []): R {
    return this.st.side.call(req, transfer.map((d) => d.buffer as ArrayBuffer)) as R;
  }

  /** Tells the rank thread, without waiting (WasmSide.post): for requests whose answer is nothing. */
  tell(req: MpiCall, transfer: Uint8Array[] = []): void {
    const buffers = transfer.map((d) => d.buffer as ArrayBuffer);
    if (this.st.side.post !== undefined) this.st.side.post(req, buffers);
    else this.st.side.call(req, buffers);
  }
}
