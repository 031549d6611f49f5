import { ANY_TAG, PROC_NULL, UNDEFINED } from "./abi.ts";
import { Call } from "./call.ts";
import type { Datatype } from "./datatypes.ts";
import type { Span } from "./memory.ts";
import type { ProbeReply, Received } from "./messages.ts";
import type { CommInfo, RankState } from "./rank-state.ts";
import type { MpiImport } from "./side.ts";
import { statusBytes, statusSpan, writeStatus } from "./status.ts";

// Point-to-point calls. A message is the raw bytes of count x extent of the send buffer; the
// receive buffer must hold what arrives (MPI_ERR_TRUNCATE otherwise). Sends complete once the
// bytes are copied out of linear memory, so MPI_Send never waits for the matching receive.

export function p2pImports(st: RankState): Record<string, MpiImport> {
  const send = (name: string, oneWay: boolean) => (buf: number, count: number, type: number, dest: number, tag: number, comm: number) => {
    const c = new Call(st, name).live();
    const info = c.comm(comm);
    const b = c.buffer("send buffer", buf, count, type);
    c.rank(info, dest, "dest", { procNull: true });
    c.tag(tag, "tag");
    if (dest === PROC_NULL) return 0;
    const data = c.read(b);
    // MPI_Send: the bytes are copied off linear memory, so the buffer is reusable at once; a
    // failure fails the rank later (WasmSide.post). Not waiting saved 2 of a ping-pong's 6
    // thread wake-ups. MPI_Ssend still waits for comm()'s send.
    if (oneWay) c.tell({ op: "send", comm, dest, tag, data }, [data]);
    else c.ask({ op: "send", comm, dest, tag, data }, [data]);
    return 0;
  };

  return {
    MPI_Send: send("MPI_Send", true),
    MPI_Ssend: send("MPI_Ssend", false),

    MPI_Recv: (buf, count, type, source, tag, comm, status) => {
      const c = new Call(st, "MPI_Recv").live();
      const info = c.comm(comm);
      const b = c.buffer("receive buffer", buf, count, type);
      const s = matching(c, info, source, tag, status!);
      if (source === PROC_NULL) return 0;
      const m = c.ask<Received>({ op: "recv", comm, source, tag });
      c.write(b, m.data);
      writeStatus(c, s, { source: m.source, tag: m.tag, bytes: m.data.byteLength });
      return 0;
    },

    MPI_Sendrecv: (sbuf, scount, stype, dest, stag, rbuf, rcount, rtype, source, rtag, comm, status) => {
      const c = new Call(st, "MPI_Sendrecv").live();
      const info = c.comm(comm);
      const sb = c.buffer("send buffer", sbuf, scount, stype);
      const rb = c.buffer("receive buffer", rbuf!, rcount!, rtype!);
      c.rank(info, dest, "dest", { procNull: true });
      c.rank(info, source!, "source", { any: true, procNull: true });
      c.tag(stag, "sendtag");
      c.tag(rtag!, "recvtag", true);
      const s = statusSpan(c, status!);
      const data = c.read(sb);
      if (source === PROC_NULL) {
        if (dest !== PROC_NULL) c.tell({ op: "send", comm: comm!, dest, tag: stag, data }, [data]);
        writeStatus(c, s, { source: PROC_NULL, tag: ANY_TAG, bytes: 0 });
        return 0;
      }
      const m = c.ask<Received>({ op: "sendrecv", comm: comm!, dest, sendTag: stag, data, source: source!, recvTag: rtag! }, [data]);
      c.write(rb, m.data);
      writeStatus(c, s, { source: m.source, tag: m.tag, bytes: m.data.byteLength });
      return 0;
    },

    MPI_Isend: (buf, count, type, dest, tag, comm, request) => {
      const c = new Call(st, "MPI_Isend").live();
      const info = c.comm(comm!);
      const b = c.buffer("send buffer", buf, count, type);
      c.rank(info, dest, "dest", { procNull: true });
      c.tag(tag, "tag");
      const out = c.span("request", request!, 4);
      const data = c.read(b);
      const req = st.requests.add({ kind: "send" });
      // The send's outcome is the request's (MPI_Wait); posting it answers nothing.
      c.tell({ op: "isend", comm: comm!, dest, tag, data, req }, [data]);
      c.setInt(out.ptr, req, "request");
      return 0;
    },

    MPI_Irecv: (buf, count, type, source, tag, comm, request) => {
      const c = new Call(st, "MPI_Irecv").live();
      const info = c.comm(comm!);
      const b = c.buffer("receive buffer", buf, count, type);
      c.rank(info, source, "source", { any: true, procNull: true });
      c.tag(tag, "tag", true);
      const out = c.span("request", request!, 4);
      // Checked now, written when the request completes: linear memory never shrinks.
      const req = st.requests.add({ kind: "recv", ptr: b.ptr, capacity: b.bytes, call: "MPI_Irecv" });
      c.ask({ op: "irecv", comm: comm!, source, tag, req });
      c.setInt(out.ptr, req, "request");
      return 0;
    },

    MPI_Probe: (source, tag, comm, status) => {
      const c = new Call(st, "MPI_Probe").live();
      const s = matching(c, c.comm(comm), source, tag, status!);
      if (source === PROC_NULL) return 0;
      const p = c.ask<ProbeReply>({ op: "probe", comm, source, tag, wait: true })!;
      writeStatus(c, s, p);
      return 0;
    },

    MPI_Iprobe: (source, tag, comm, flag, status) => {
      const c = new Call(st, "MPI_Iprobe").live();
      const f = c.span("flag", flag!, 4);
      const s = matching(c, c.comm(comm), source, tag, status!);
      if (source === PROC_NULL) {
        c.setInt(f.ptr, 1, "flag");
        return 0;
      }
      const p = c.ask<ProbeReply>({ op: "probe", comm, source, tag, wait: false });
      c.setInt(f.ptr, p === null ? 0 : 1, "flag");
      if (p !== null) writeStatus(c, s, p);
      return 0;
    },

    // Whole items of the type (MPI_Get_count) or whole basic elements of it (MPI_Get_elements)
    // in what the status says arrived; MPI_UNDEFINED when the bytes end inside one.
    MPI_Get_count: (status, type, count) => countIn(new Call(st, "MPI_Get_count"), status, type, count, (t) => t.extent),
    MPI_Get_elements: (status, type, count) => countIn(new Call(st, "MPI_Get_elements"), status, type, count, (t) => t.extent / t.elements),
  };
}

/**
 * What a receive or probe checks of its source, tag and status, before anything is written;
 * the status's span. From MPI_PROC_NULL a message is "received" at once: its status is
 * written here (source PROC_NULL, tag ANY, 0 bytes) and the caller returns.
 */
function matching(c: Call, info: CommInfo, source: number, tag: number, status: number): Span | undefined {
  c.rank(info, source, "source", { any: true, procNull: true });
  c.tag(tag, "tag", true);
  const s = statusSpan(c, status);
  if (source === PROC_NULL) writeStatus(c, s, { source: PROC_NULL, tag: ANY_TAG, bytes: 0 });
  return s;
}

/** Writes to `count` how many whole units of `per(type)` bytes the status's message holds. */
function countIn(c: Call, status: number, type: number, count: number, per: (t: Datatype) => number): number {
  const t = c.type(type);
  const out = c.span("count", count, 4);
  const bytes = statusBytes(c, status);
  const unit = per(t);
  c.setInt(out.ptr, unit === 0 ? 0 : bytes % unit === 0 ? bytes / unit : UNDEFINED, "count");
  return 0;
}
