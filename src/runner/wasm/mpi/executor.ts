import { ANY, PROC_NULL, testAll, testAny, waitAll, waitAny, type Comm, type Completion as Done, type Message, type Request } from "../../../comm.ts";
import { MpiError } from "../../../errors.ts";
import { Communicator } from "../../spmd/communicator.ts";
import { COMM_SELF, COMM_WORLD } from "./abi.ts";
import type { AllReply, AnyReply, Completion, MpiCall, ProbeReply, Received, Reduction, SplitReply } from "./messages.ts";
import { fromCommElements, toCommElements, commOp } from "./ops.ts";
import { movable } from "./replies.ts";
import type { MpiRequest } from "./side.ts";

// The rank thread's half: carries out the Wasm thread's requests (messages.ts) with comm(),
// one comm() call each. It holds the live communicators and the pending requests (comm()'s
// Request objects), under the handles the Wasm thread chose. Data arrives and leaves as bytes;
// reductions read them as typed arrays of the datatype's kind.

/** Runs the Wasm thread's requests on the rank thread, with this rank's world communicator. */
export interface MpiExecutor {
  run(req: MpiRequest): Promise<{ value: unknown; transfer?: ArrayBuffer[] }>;
  /** The rank ended: requests still pending are dropped. */
  close(): void;
}

type Pending = { readonly kind: "send"; readonly r: Request<void> } | { readonly kind: "recv"; readonly r: Request<Message> };

const noop = (): void => {};

export function mpiExecutor(world: Comm): MpiExecutor {
  const comms = new Map<number, Comm>([[COMM_WORLD, world]]);
  // MPI_COMM_SELF needs no other rank: made here, at once, where comm() is a Communicator.
  if (world instanceof Communicator) comms.set(COMM_SELF, world.self());
  const requests = new Map<number, Pending>();
  const fail = (op: string, reason: string) => new MpiError(`MPI ${op}`, world.rank, reason);

  const comm = (h: number, op: string): Comm => {
    const c = comms.get(h);
    if (c === undefined) throw fail(op, `no communicator ${h} on the rank thread`);
    return c;
  };

  /** A message's value as bytes: C ranks send bytes, a TypeScript rank may send any typed array. */
  const asBytes = (v: unknown, op: string): Uint8Array => {
    if (v === undefined) return new Uint8Array(0);
    if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    throw fail(op, `a message holds ${v === null ? "null" : typeof v}, not bytes (a C rank receives typed arrays only)`);
  };

  const received = (m: Message, op: string): Received =>
    m.source === PROC_NULL ? { data: new Uint8Array(0), source: PROC_NULL, tag: ANY } : { data: asBytes(m.value, op), source: m.source, tag: m.tag };

  const pending = (h: number, op: string): Pending => {
    const p = requests.get(h);
    if (p === undefined) throw fail(op, `no request ${h} on the rank thread`);
    return p;
  };

  const keep = (h: number, p: Pending): void => {
    // Rejections reach whoever waits (MPI_Wait…); one nobody waits for (a freed send, a job aborted) is not unhandled.
    p.r.catch(noop);
    requests.set(h, p);
  };

  /** A finished request's completion, as the Wasm thread writes it; the request is freed. */
  const complete = (h: number, d: Done<unknown>): Completion => {
    const p = requests.get(h)!;
    requests.delete(h);
    if (d.cancelled) return { cancelled: true };
    return p.kind === "recv" ? { received: received(d.value as Message, "wait"), cancelled: false } : { cancelled: false };
  };

  const reduce = async (c: Comm, r: Reduction, how: "reduce" | "allreduce" | "scan" | "exscan", root = 0): Promise<Uint8Array | undefined> => {
    const v = toCommElements(r.kind, r.data);
    const op = commOp(r.rop, r.kind);
    const out = how === "reduce" ? await c.reduce(v, op, root) : how === "allreduce" ? await c.allreduce(v, op) : how === "scan" ? await c.scan(v, op) : await c.exscan(v, op);
    return out === undefined ? undefined : fromCommElements(r.kind, out);
  };

  async function run(q: MpiCall): Promise<unknown> {
    switch (q.op) {
      case "barrier":
        return comm(q.comm, q.op).barrier();
      case "send":
        return comm(q.comm, q.op).send(q.dest, q.data, q.tag);
      case "recv":
        return received(await comm(q.comm, q.op).recv(q.source, q.tag), q.op);
      case "sendrecv":
        return received(await comm(q.comm, q.op).sendrecv(q.dest, q.data, q.source, q.sendTag, q.recvTag), q.op);
      case "isend":
        keep(q.req, { kind: "send", r: comm(q.comm, q.op).isend(q.dest, q.data, q.tag) });
        return undefined;
      case "irecv":
        keep(q.req, { kind: "recv", r: comm(q.comm, q.op).irecv(q.source, q.tag) });
        return undefined;
      case "probe": {
        const c = comm(q.comm, q.op);
        const s = q.wait ? await c.probe(q.source, q.tag) : c.iprobe(q.source, q.tag);
        return (s === undefined ? null : { source: s.source, tag: s.tag, bytes: s.bytes }) satisfies ProbeReply;
      }
      case "cancel":
        pending(q.req, q.op).r.cancel();
        return undefined;
      case "request_free":
        pending(q.req, q.op);
        requests.delete(q.req);
        return undefined;
      case "wait":
      case "test": {
        const rs = q.reqs.map((h) => pending(h, q.op).r as Request<unknown>);
        if (q.mode === "all") {
          const ds = q.op === "wait" ? await waitAll(rs) : testAll(rs);
          return (ds === undefined ? null : ds.map((d, i) => complete(q.reqs[i]!, d))) satisfies AllReply;
        }
        const d = q.op === "wait" ? await waitAny(rs) : testAny(rs);
        return (d === undefined ? null : { index: d.index, completion: complete(q.reqs[d.index]!, d) }) satisfies AnyReply;
      }
      case "bcast":
        return asBytes(await comm(q.comm, q.op).bcast(q.data, q.root), q.op);
      case "gather": {
        const all = await comm(q.comm, q.op).gather(q.data, q.root);
        return all?.map((v) => asBytes(v, q.op));
      }
      case "allgather":
        return (await comm(q.comm, q.op).allgather(q.data)).map((v) => asBytes(v, q.op));
      case "scatter":
        return asBytes(await comm(q.comm, q.op).scatter(q.pieces, q.root), q.op);
      case "alltoall":
        return (await comm(q.comm, q.op).alltoall(q.pieces)).map((v) => asBytes(v, q.op));
      case "gatherv":
        return asBytesOrUndefined(await comm(q.comm, q.op).gatherv(q.data, q.counts, q.root, q.displs));
      case "scatterv":
        return asBytes(await comm(q.comm, q.op).scatterv(q.data, q.counts, q.root, q.displs), q.op);
      case "allgatherv":
        return asBytes(await comm(q.comm, q.op).allgatherv(q.data, q.counts, q.displs), q.op);
      case "alltoallv":
        return asBytes(await comm(q.comm, q.op).alltoallv(q.data, q.sendCounts, q.recvCounts, q.sendDispls, q.recvDispls), q.op);
      case "reduce":
        return reduce(comm(q.comm, q.op), q, "reduce", q.root);
      case "allreduce":
      case "scan":
      case "exscan":
        return reduce(comm(q.comm, q.op), q, q.op);
      case "reduce_scatter": {
        const v = toCommElements(q.kind, q.data);
        const per = v.length / (q.data.byteLength || 1);
        const out = await comm(q.comm, q.op).reduceScatter(v, commOp(q.rop, q.kind), q.blocks.map((b) => b * per));
        return fromCommElements(q.kind, out);
      }
      case "split": {
        const c = await comm(q.comm, q.op).split(q.color, q.key);
        if (c === undefined) return null satisfies SplitReply;
        comms.set(q.handle, c);
        const members = await c.allgather(world.rank);
        return { rank: c.rank, size: c.size, members } satisfies SplitReply;
      }
      case "comm_free":
        comms.delete(q.comm);
        return undefined;
    }
  }

  function asBytesOrUndefined(v: Uint8Array | undefined): Uint8Array | undefined {
    return v === undefined ? undefined : asBytes(v, "gatherv");
  }

  return {
    async run(req) {
      return movable(await run(req as unknown as MpiCall));
    },
    close() {
      requests.clear();
      comms.clear();
    },
  };
}
