import { Call } from "./call.ts";
import type { Datatype } from "./datatypes.ts";
import type { Span } from "./memory.ts";
import type { MpiCall, Reduction } from "./messages.ts";
import type { CommInfo, RankState } from "./rank-state.ts";
import type { MpiImport } from "./side.ts";
import { foldWithUserOp, resolveOp } from "./user-ops.ts";

// Collectives: each checks every buffer it will touch (the root's whole receive or send buffer,
// every block of a vector collective) before asking the rank thread, which runs the
// same-named comm() collective on the bytes (a vector collective's blocks as one vector of
// bytes, counts and displacements in bytes). MPI_IN_PLACE is taken where MPI allows it.

/** `count` elements of `type` at element displacement `displ` from `base`, checked whole. */
function block(c: Call, what: string, base: number, displ: number, count: number, type: Datatype): Span {
  c.count(count, `${what} count`);
  const ptr = (base >>> 0) + displ * type.extent;
  if (!Number.isInteger(displ) || ptr < 0) throw c.fail(`${what}: displacement ${displ} points before address 0`);
  return c.span(what, ptr, count * type.extent);
}

/** The root's `size` equal blocks of a buffer (checked whole), one per rank. */
function blocks(c: Call, what: string, base: number, count: number, typeHandle: number, size: number): Span[] {
  const b = c.buffer(what, base, count, typeHandle, size);
  const len = count * b.type.extent;
  return Array.from({ length: size }, (_, i) => ({ ptr: b.ptr + i * len, bytes: len }));
}

/** A vector collective's blocks: counts[i] elements at displs[i], each checked. */
function vblocks(c: Call, what: string, base: number, countsPtr: number, displsPtr: number, typeHandle: number, size: number): Span[] {
  const type = c.type(typeHandle, `${what} datatype`);
  const counts = c.ints(countsPtr, size, `${what} counts`);
  const displs = c.ints(displsPtr, size, `${what} displacements`);
  return counts.map((n, i) => block(c, `${what} block ${i}`, base, displs[i]!, n, type));
}

/** Blocks as one vector: displacements and counts in bytes from the lowest block. */
interface Layout {
  readonly origin: number;
  readonly counts: number[];
  readonly displs: number[];
  readonly length: number;
}

function layout(spans: readonly Span[]): Layout {
  const used = spans.filter((s) => s.bytes > 0);
  const origin = used.length === 0 ? 0 : Math.min(...used.map((s) => s.ptr));
  const displs = spans.map((s) => (s.bytes > 0 ? s.ptr - origin : 0));
  return { origin, counts: spans.map((s) => s.bytes), displs, length: Math.max(0, ...spans.map((s, i) => displs[i]! + s.bytes)) };
}

/** The send blocks copied into one vector (only the checked blocks are read, never what lies between them). */
function assemble(c: Call, spans: readonly Span[], l: Layout): Uint8Array {
  const v = new Uint8Array(l.length);
  spans.forEach((s, i) => v.set(c.read(s), l.displs[i]));
  return v;
}

/** Each receive block out of the vector comm() returned. */
function scatterInto(c: Call, spans: readonly Span[], l: Layout, v: Uint8Array, skip = -1): void {
  spans.forEach((s, i) => {
    if (i !== skip) c.write(s, v.subarray(l.displs[i], l.displs[i]! + l.counts[i]!), `receive block ${i}`);
  });
}

function root(c: Call, info: CommInfo, r: number): number {
  return c.rank(info, r, "root");
}

function noInPlace(c: Call, ptr: number, what: string): void {
  if (c.isInPlace(ptr)) throw c.fail(`MPI_IN_PLACE is not allowed as the ${what} here`);
}

export function collectiveImports(st: RankState): Record<string, MpiImport> {
  /** Reductions: checks, then named ops on the rank thread or a user op folded here. */
  const reduction = (name: string, kind: "reduce" | "allreduce" | "scan" | "exscan") => (sbuf: number, rbuf: number, count: number, type: number, op: number, a: number, b?: number) => {
    const c = new Call(st, name).live();
    const comm = kind === "reduce" ? b! : a;
    const info = c.comm(comm);
    const r = kind === "reduce" ? root(c, info, a) : -1;
    const t = c.type(type);
    const rop = resolveOp(c, op, t);
    const mine = kind !== "reduce" || info.rank === r;
    const rb = mine ? c.buffer("receive buffer", rbuf, count, type) : undefined;
    const inPlace = c.isInPlace(sbuf);
    if (inPlace && rb === undefined) throw c.fail("MPI_IN_PLACE is the root's send buffer only");
    const data = c.read(inPlace ? rb! : c.buffer("send buffer", sbuf, count, type));
    let out: Uint8Array | undefined;
    if ("named" in rop) {
      const red: Reduction = { data, kind: t.kind, rop: rop.named };
      const req: MpiCall = kind === "reduce" ? { op: "reduce", comm, root: r, ...red } : { op: kind, comm, ...red };
      out = c.ask<Uint8Array | undefined>(req, [data]);
    } else if (kind === "reduce") {
      const all = c.ask<Uint8Array[] | undefined>({ op: "gather", comm, root: r, data }, [data]);
      if (all !== undefined) out = foldWithUserOp(c, rop.fn, all, count, type);
    } else {
      const all = c.ask<Uint8Array[]>({ op: "allgather", comm, data }, [data]);
      const upto = kind === "allreduce" ? all.length : kind === "scan" ? info.rank + 1 : info.rank;
      if (upto > 0) out = foldWithUserOp(c, rop.fn, all.slice(0, upto), count, type);
    }
    // MPI leaves an exclusive scan's result on rank 0 undefined: its buffer is left alone.
    if (rb !== undefined && out !== undefined && !(kind === "exscan" && info.rank === 0)) c.write(rb, out);
    return 0;
  };

  const reduceScatter = (name: string, vector: boolean) => (sbuf: number, rbuf: number, counts: number, type: number, op: number, comm: number) => {
    const c = new Call(st, name).live();
    const info = c.comm(comm);
    const t = c.type(type);
    const rop = resolveOp(c, op, t);
    const n = vector ? c.ints(counts, info.size, "recvcounts") : Array.from({ length: info.size }, () => c.count(counts, "recvcount"));
    n.forEach((k, i) => c.count(k, `recvcounts[${i}]`));
    const total = n.reduce((x, y) => x + y, 0);
    const inPlace = c.isInPlace(sbuf);
    const rb = c.buffer("receive buffer", rbuf, inPlace ? total : n[info.rank]!, type);
    const data = c.read(inPlace ? rb : c.buffer("send buffer", sbuf, total, type));
    const blocksBytes = n.map((k) => k * t.extent);
    let out: Uint8Array;
    if ("named" in rop) {
      out = c.ask<Uint8Array>({ op: "reduce_scatter", comm, blocks: blocksBytes, data, kind: t.kind, rop: rop.named }, [data]);
    } else {
      const all = c.ask<Uint8Array[]>({ op: "allgather", comm, data }, [data]);
      const whole = foldWithUserOp(c, rop.fn, all, total, type);
      const from = blocksBytes.slice(0, info.rank).reduce((x, y) => x + y, 0);
      out = whole.subarray(from, from + blocksBytes[info.rank]!);
    }
    c.write({ ptr: rb.ptr, bytes: blocksBytes[info.rank]! }, out);
    return 0;
  };

  return {
    MPI_Barrier: (comm) => {
      const c = new Call(st, "MPI_Barrier").live();
      c.comm(comm);
      c.ask({ op: "barrier", comm });
      return 0;
    },

    MPI_Bcast: (buf, count, type, r, comm) => {
      const c = new Call(st, "MPI_Bcast").live();
      const info = c.comm(comm!);
      const b = c.buffer("buffer", buf, count, type);
      root(c, info, r!);
      const isRoot = info.rank === r;
      const data = isRoot ? c.read(b) : undefined;
      const out = c.ask<Uint8Array>({ op: "bcast", comm: comm!, root: r!, data }, data === undefined ? [] : [data]);
      if (!isRoot) c.write(b, out);
      return 0;
    },

    MPI_Gather: (sbuf, scount, stype, rbuf, rcount, rtype, r, comm) => {
      const c = new Call(st, "MPI_Gather").live();
      const info = c.comm(comm!);
      root(c, info, r!);
      const isRoot = info.rank === r;
      const rbs = isRoot ? blocks(c, "receive buffer", rbuf!, rcount!, rtype!, info.size) : undefined;
      if (!isRoot) noInPlace(c, sbuf, "send buffer of a non-root rank");
      const data = c.read(c.isInPlace(sbuf) ? rbs![info.rank]! : c.buffer("send buffer", sbuf, scount!, stype!));
      const all = c.ask<Uint8Array[] | undefined>({ op: "gather", comm: comm!, root: r!, data }, [data]);
      if (rbs !== undefined) all!.forEach((d, i) => c.write(rbs[i]!, d, `receive block of rank ${i}`));
      return 0;
    },

    MPI_Gatherv: (sbuf, scount, stype, rbuf, rcounts, displs, rtype, r, comm) => {
      const c = new Call(st, "MPI_Gatherv").live();
      const info = c.comm(comm!);
      root(c, info, r!);
      const isRoot = info.rank === r;
      const rbs = isRoot ? vblocks(c, "receive buffer", rbuf!, rcounts!, displs!, rtype!, info.size) : undefined;
      if (!isRoot) noInPlace(c, sbuf, "send buffer of a non-root rank");
      const data = c.read(c.isInPlace(sbuf) ? rbs![info.rank]! : c.buffer("send buffer", sbuf, scount!, stype!));
      const l = rbs && layout(rbs);
      const v = c.ask<Uint8Array | undefined>({ op: "gatherv", comm: comm!, root: r!, data, counts: l?.counts, displs: l?.displs }, [data]);
      if (rbs !== undefined) scatterInto(c, rbs, l!, v!, c.isInPlace(sbuf) ? info.rank : -1);
      return 0;
    },

    MPI_Scatter: (sbuf, scount, stype, rbuf, rcount, rtype, r, comm) => {
      const c = new Call(st, "MPI_Scatter").live();
      const info = c.comm(comm!);
      root(c, info, r!);
      const isRoot = info.rank === r;
      const sbs = isRoot ? blocks(c, "send buffer", sbuf, scount!, stype!, info.size) : undefined;
      const inPlace = c.isInPlace(rbuf!);
      if (inPlace && !isRoot) throw c.fail("MPI_IN_PLACE is the root's receive buffer only");
      const rb = inPlace ? undefined : c.buffer("receive buffer", rbuf!, rcount!, rtype!);
      const pieces = sbs?.map((s) => c.read(s));
      const mine = c.ask<Uint8Array>({ op: "scatter", comm: comm!, root: r!, pieces }, pieces ?? []);
      if (rb !== undefined) c.write(rb, mine);
      return 0;
    },

    MPI_Scatterv: (sbuf, scounts, displs, stype, rbuf, rcount, rtype, r, comm) => {
      const c = new Call(st, "MPI_Scatterv").live();
      const info = c.comm(comm!);
      root(c, info, r!);
      const isRoot = info.rank === r;
      const sbs = isRoot ? vblocks(c, "send buffer", sbuf, scounts!, displs!, stype!, info.size) : undefined;
      const inPlace = c.isInPlace(rbuf!);
      if (inPlace && !isRoot) throw c.fail("MPI_IN_PLACE is the root's receive buffer only");
      const rb = inPlace ? undefined : c.buffer("receive buffer", rbuf!, rcount!, rtype!);
      const l = sbs && layout(sbs);
      const data = sbs && assemble(c, sbs, l!);
      const mine = c.ask<Uint8Array>({ op: "scatterv", comm: comm!, root: r!, data, counts: l?.counts, displs: l?.displs }, data ? [data] : []);
      if (rb !== undefined) c.write(rb, mine);
      return 0;
    },

    MPI_Allgather: (sbuf, scount, stype, rbuf, rcount, rtype, comm) => {
      const c = new Call(st, "MPI_Allgather").live();
      const info = c.comm(comm!);
      const rbs = blocks(c, "receive buffer", rbuf!, rcount!, rtype!, info.size);
      const data = c.read(c.isInPlace(sbuf) ? rbs[info.rank]! : c.buffer("send buffer", sbuf, scount!, stype!));
      const all = c.ask<Uint8Array[]>({ op: "allgather", comm: comm!, data }, [data]);
      all.forEach((d, i) => c.write(rbs[i]!, d, `receive block of rank ${i}`));
      return 0;
    },

    MPI_Allgatherv: (sbuf, scount, stype, rbuf, rcounts, displs, rtype, comm) => {
      const c = new Call(st, "MPI_Allgatherv").live();
      const info = c.comm(comm!);
      const rbs = vblocks(c, "receive buffer", rbuf!, rcounts!, displs!, rtype!, info.size);
      const inPlace = c.isInPlace(sbuf);
      const data = c.read(inPlace ? rbs[info.rank]! : c.buffer("send buffer", sbuf, scount!, stype!));
      const l = layout(rbs);
      const v = c.ask<Uint8Array>({ op: "allgatherv", comm: comm!, data, counts: l.counts, displs: l.displs }, [data]);
      scatterInto(c, rbs, l, v, inPlace ? info.rank : -1);
      return 0;
    },

    MPI_Alltoall: (sbuf, scount, stype, rbuf, rcount, rtype, comm) => {
      const c = new Call(st, "MPI_Alltoall").live();
      const info = c.comm(comm!);
      const rbs = blocks(c, "receive buffer", rbuf!, rcount!, rtype!, info.size);
      const sbs = c.isInPlace(sbuf) ? rbs : blocks(c, "send buffer", sbuf, scount!, stype!, info.size);
      const pieces = sbs.map((s) => c.read(s));
      const all = c.ask<Uint8Array[]>({ op: "alltoall", comm: comm!, pieces }, pieces);
      all.forEach((d, i) => c.write(rbs[i]!, d, `receive block from rank ${i}`));
      return 0;
    },

    MPI_Alltoallv: (sbuf, scounts, sdispls, stype, rbuf, rcounts, rdispls, rtype, comm) => {
      const c = new Call(st, "MPI_Alltoallv").live();
      const info = c.comm(comm!);
      const rbs = vblocks(c, "receive buffer", rbuf!, rcounts!, rdispls!, rtype!, info.size);
      const sbs = c.isInPlace(sbuf) ? rbs : vblocks(c, "send buffer", sbuf, scounts!, sdispls!, stype!, info.size);
      const sl = layout(sbs);
      const rl = layout(rbs);
      const data = assemble(c, sbs, sl);
      const v = c.ask<Uint8Array>({ op: "alltoallv", comm: comm!, data, sendCounts: sl.counts, sendDispls: sl.displs, recvCounts: rl.counts, recvDispls: rl.displs }, [data]);
      scatterInto(c, rbs, rl, v);
      return 0;
    },

    MPI_Reduce: reduction("MPI_Reduce", "reduce"),
    MPI_Allreduce: reduction("MPI_Allreduce", "allreduce"),
    MPI_Scan: reduction("MPI_Scan", "scan"),
    MPI_Exscan: reduction("MPI_Exscan", "exscan"),
    MPI_Reduce_scatter: reduceScatter("MPI_Reduce_scatter", true),
    MPI_Reduce_scatter_block: reduceScatter("MPI_Reduce_scatter_block", false),
  };
}
