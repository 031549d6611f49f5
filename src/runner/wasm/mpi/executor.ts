import { ANY, PROC_NULL, type Comm, type Message } from "../../../comm.ts";
import { MpiError } from "../../../errors.ts";
import { COMM_SELF, COMM_WORLD } from "./abi.ts";
import type { AllReply, AnyReply, Completion, MpiCall, ProbeReply, Received, Reduction, SplitReply } from "./messages.ts";
import { bytesOf, combiner, commOp, elementsOf } from "./ops.ts";
import { probe } from "./probe.ts";
import { SelfComm } from "./self-comm.ts";
import type { MpiRequest } from "./side.ts";

// The rank thread's half: carries out the Wasm thread's requests (messages.ts) with comm().
// It holds the live communicators and the pending nonblocking operations, under the handles
// the Wasm thread chose. Data arrives and leaves as bytes; reductions read them by kind.

/** Runs the Wasm thread's requests on the rank thread, with this rank's world communicator. */
export interface MpiExecutor {
  run(req: MpiRequest): Promise<{ value: unknown; transfer?: ArrayBuffer[] }>;
  /** The rank ended: requests still pending are dropped. */
  close(): void;
}

/** A pending request: settles when its operation does; cancel() tries to withdraw it. */
interface Tracked {
  done?: Completion;
  failed?: { error: unknown };
  readonly settled: Promise<void>;
  readonly cancel: () => boolean;
}

type Cancellable = { cancel?: () => boolean };

export function mpiExecutor(world: Comm): MpiExecutor {
  const comms = new Map<number, Comm>([[COMM_WORLD, world], [COMM_SELF, new SelfComm()]]);
  const requests = new Map<number, Tracked>();
  const fail = (op: string, reason: string) => new MpiError(`MPI ${op}`, world.rank, reason);

  const comm = (h: number, op: string): Comm => {
    const c = comms.get(h);
    if (c === undefined) throw fail(op, `no communicator ${h} on the rank thread`);
    return c;
  };

  /** A message's value as bytes: C ranks send bytes, a TypeScript rank may send any typed array. */
  const asBytes = (v: unknown, op: string): Uint8Array => {
    if (v === undefined) return new Uint8Array(0);
    if (ArrayBuffer.isView(v)) return bytesOf(v);
    throw fail(op, `a message holds ${v === null ? "null" : typeof v}, not bytes (a C rank receives typed arrays only)`);
  };

  const received = (m: Message, op: string): Received =>
    m.source === PROC_NULL ? { data: new Uint8Array(0), source: PROC_NULL, tag: ANY } : { data: asBytes(m.value, op), source: m.source, tag: m.tag };

  const track = (h: number, p: Promise<Completion>, cancel: () => boolean): void => {
    const t: Tracked = {
      settled: p.then((c) => void (t.done ??= c), (error: unknown) => void (t.failed ??= { error })),
      cancel: () => {
        if (t.done !== undefined || t.failed !== undefined || !cancel()) return false;
        t.done = { cancelled: true };
        return true;
      },
    };
    requests.set(h, t);
  };

  const tracked = (h: number, op: string): Tracked => {
    const t = requests.get(h);
    if (t === undefined) throw fail(op, `no request ${h} on the rank thread`);
    return t;
  };

  const settled = (t: Tracked) => t.done !== undefined || t.failed !== undefined;

  /** A settled request's completion, freed (its error rethrown). */
  const take = (h: number): Completion => {
    const t = requests.get(h)!;
    requests.delete(h);
    if (t.failed !== undefined) throw t.failed.error;
    return t.done!;
  };

  const reduce = async (c: Comm, r: Reduction, how: "reduce" | "allreduce" | "scan", root = 0): Promise<Uint8Array | undefined> => {
    const v = elementsOf(r.kind, r.data);
    const op = commOp(r.rop, r.kind);
    const out = how === "reduce" ? await c.reduce(v, op, root) : how === "allreduce" ? await c.allreduce(v, op) : await c.scan(v, op);
    return out === undefined ? undefined : bytesOf(out);
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
      case "isend": {
        const p = comm(q.comm, q.op).isend(q.dest, q.data, q.tag);
        // A send leaves with its bytes at once: too late to cancel (MPI lets a cancel fail).
        track(q.req, p.then(() => ({ cancelled: false })), () => false);
        return undefined;
      }
      case "irecv": {
        const p = comm(q.comm, q.op).irecv(q.source, q.tag);
        const withdraw = (p as Cancellable).cancel?.bind(p);
        track(q.req, p.then((m) => ({ received: received(m, q.op), cancelled: false })), () => {
          if (withdraw === undefined) throw fail("cancel", "this comm() cannot withdraw a posted receive");
          return withdraw();
        });
        return undefined;
      }
      case "probe":
        return probe(comm(q.comm, q.op), q.source, q.tag, q.wait, (v) => asBytes(v, q.op).byteLength) satisfies Promise<ProbeReply>;
      case "cancel":
        tracked(q.req, q.op).cancel();
        return undefined;
      case "request_free":
        tracked(q.req, q.op);
        requests.delete(q.req);
        return undefined;
      case "wait": {
        const ts = q.reqs.map((h) => tracked(h, q.op));
        if (q.mode === "all") {
          await Promise.all(ts.map((t) => t.settled));
          return q.reqs.map(take) satisfies AllReply;
        }
        if (!ts.some(settled)) await Promise.race(ts.map((t) => t.settled));
        const index = ts.findIndex(settled);
        return { index, completion: take(q.reqs[index]!) } satisfies AnyReply;
      }
      case "test": {
        const ts = q.reqs.map((h) => tracked(h, q.op));
        if (q.mode === "all") return (ts.every(settled) ? q.reqs.map(take) : null) satisfies AllReply;
        const index = ts.findIndex(settled);
        return (index < 0 ? null : { index, completion: take(q.reqs[index]!) }) satisfies AnyReply;
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
      case "reduce":
        return reduce(comm(q.comm, q.op), q, "reduce", q.root);
      case "allreduce":
      case "scan":
        return reduce(comm(q.comm, q.op), q, q.op);
      case "exscan": {
        // Rank i gets ranks 0..i-1 combined: the ranks' values meet everywhere, then fold.
        const c = comm(q.comm, q.op);
        const all = await c.allgather(q.data);
        if (c.rank === 0) return undefined;
        const f = combiner(q.rop, q.kind);
        let acc = elementsOf(q.kind, asBytes(all[0], q.op));
        for (let i = 1; i < c.rank; i++) acc = f(acc, elementsOf(q.kind, asBytes(all[i], q.op)));
        return bytesOf(acc);
      }
      case "reduce_scatter": {
        const whole = (await reduce(comm(q.comm, q.op), q, "allreduce"))!;
        const c = comm(q.comm, q.op);
        const from = q.blocks.slice(0, c.rank).reduce((x, y) => x + y, 0);
        return whole.subarray(from, from + q.blocks[c.rank]!);
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

  return {
    async run(req) {
      return { value: await run(req as unknown as MpiCall) };
    },
    close() {
      requests.clear();
      comms.clear();
    },
  };
}
