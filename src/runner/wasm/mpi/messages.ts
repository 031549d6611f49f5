import type { ElementKind } from "./datatypes.ts";

// What the Wasm thread asks its rank thread (MpiCall) and what comes back. Communicators and
// requests are named by the handles the Wasm thread gave them; data travels as raw bytes, the
// bytes of the program's buffer, so ranks in C exchange exactly what they would natively.

/** A reduction's operation by name; user ops never reach the rank thread (ops.ts). */
export type NamedOpName = "max" | "min" | "sum" | "prod" | "land" | "band" | "lor" | "bor" | "lxor" | "bxor" | "maxloc" | "minloc";

/** What a reduction combines: the bytes, how to read them, and the operation. */
export type Reduction = {
  readonly data: Uint8Array;
  readonly kind: ElementKind;
  readonly rop: NamedOpName;
};

export type MpiCall =
  | { op: "barrier"; comm: number }
  | { op: "send"; comm: number; dest: number; tag: number; data: Uint8Array }
  | { op: "recv"; comm: number; source: number; tag: number }
  | { op: "sendrecv"; comm: number; dest: number; sendTag: number; data: Uint8Array; source: number; recvTag: number }
  | { op: "isend"; comm: number; dest: number; tag: number; data: Uint8Array; req: number }
  | { op: "irecv"; comm: number; source: number; tag: number; req: number }
  | { op: "probe"; comm: number; source: number; tag: number; wait: boolean }
  | { op: "wait"; reqs: number[]; mode: "all" | "any" }
  | { op: "test"; reqs: number[]; mode: "all" | "any" }
  | { op: "cancel"; req: number }
  | { op: "request_free"; req: number }
  | { op: "bcast"; comm: number; root: number; data: Uint8Array | undefined }
  | { op: "gather"; comm: number; root: number; data: Uint8Array }
  | { op: "allgather"; comm: number; data: Uint8Array }
  | { op: "scatter"; comm: number; root: number; pieces: Uint8Array[] | undefined }
  | { op: "alltoall"; comm: number; pieces: Uint8Array[] }
  // Vector collectives: one vector of bytes, counts and displacements in bytes.
  | { op: "gatherv"; comm: number; root: number; data: Uint8Array; counts: number[] | undefined; displs: number[] | undefined }
  | { op: "scatterv"; comm: number; root: number; data: Uint8Array | undefined; counts: number[] | undefined; displs: number[] | undefined }
  | { op: "allgatherv"; comm: number; data: Uint8Array; counts: number[]; displs: number[] }
  | { op: "alltoallv"; comm: number; data: Uint8Array; sendCounts: number[]; sendDispls: number[]; recvCounts: number[]; recvDispls: number[] }
  | ({ op: "reduce"; comm: number; root: number } & Reduction)
  | ({ op: "allreduce" | "scan" | "exscan"; comm: number } & Reduction)
  | ({ op: "reduce_scatter"; comm: number; blocks: number[] } & Reduction)
  | { op: "split"; comm: number; color: number; key: number; handle: number }
  | { op: "comm_free"; comm: number };

/** A received message as the Wasm thread writes it (data) and reports it (status). */
export interface Received {
  readonly data: Uint8Array;
  readonly source: number;
  readonly tag: number;
}

/** A finished request: a receive's message, or nothing for a send; cancelled if it was. */
export interface Completion {
  readonly received?: Received;
  readonly cancelled: boolean;
}

/** What probe finds: the envelope and size of the first matching message, or null (Iprobe, none yet). */
export type ProbeReply = { readonly source: number; readonly tag: number; readonly bytes: number } | null;

/** wait/test with mode "all": every completion, in order, or null (test: not all done). */
export type AllReply = Completion[] | null;
/** wait/test with mode "any": which request finished and how, or null (test: none yet). */
export type AnyReply = { readonly index: number; readonly completion: Completion } | null;

/** A new communicator: this rank's place in it and its members as ranks of the job; null for MPI_COMM_NULL. */
export type SplitReply = { readonly rank: number; readonly size: number; readonly members: number[] } | null;
