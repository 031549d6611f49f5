import { REQUEST_NULL, UNDEFINED } from "./abi.ts";
import { Call } from "./call.ts";
import type { Span } from "./memory.ts";
import type { AllReply, AnyReply, Completion } from "./messages.ts";
import type { PendingRequest, RankState } from "./rank-state.ts";
import type { MpiImport } from "./side.ts";
import { completionStatus, statusCancelled, statusSpan, writeStatus } from "./status.ts";

// Completing nonblocking operations. The rank thread holds each request's comm() promise; the
// Wasm thread holds where a receive's message goes (checked when it was posted) and writes it
// when the request completes here. A completed request's handle becomes MPI_REQUEST_NULL.

const EMPTY = { source: -1, tag: -1, bytes: 0 };

/** The request handles in `ptr[0..n)`, checked, with their pending state (null handles skipped). */
function requestArray(c: Call, ptr: number, n: number): { span: Span; handles: number[]; active: number[] } {
  const handles = c.ints(ptr, n, "requests");
  const active: number[] = [];
  handles.forEach((h, i) => {
    if (h === REQUEST_NULL) return;
    pending(c, h);
    active.push(i);
  });
  return { span: { ptr: ptr >>> 0, bytes: 4 * n }, handles, active };
}

function pending(c: Call, h: number): PendingRequest {
  const p = c.st.requests.get(h);
  if (p === undefined) throw c.fail(`unknown request handle ${h}`);
  return p;
}

/** Writes a finished request's message, frees its handle and sets it to MPI_REQUEST_NULL. */
function finish(c: Call, h: number, slot: number, done: Completion): void {
  const p = pending(c, h);
  if (p.kind === "recv" && done.received !== undefined) c.write({ ptr: p.ptr, bytes: p.capacity }, done.received.data, `${p.call} buffer`);
  c.st.requests.delete(h);
  c.setInt(slot, REQUEST_NULL, "request");
}

export function requestImports(st: RankState): Record<string, MpiImport> {
  const one = (name: string, blocking: boolean) => (request: number, a: number, b?: number) => {
    const c = new Call(st, name).live();
    const flagPtr = blocking ? undefined : c.span("flag", a, 4).ptr;
    const s = statusSpan(c, blocking ? a : b!);
    const h = c.int(request, "request");
    if (h === REQUEST_NULL) {
      if (flagPtr !== undefined) c.setInt(flagPtr, 1, "flag");
      writeStatus(c, s, EMPTY);
      return 0;
    }
    pending(c, h);
    const r = c.ask<AllReply>({ op: blocking ? "wait" : "test", reqs: [h], mode: "all" });
    if (flagPtr !== undefined) c.setInt(flagPtr, r === null ? 0 : 1, "flag");
    if (r === null) return 0;
    finish(c, h, request >>> 0, r[0]!);
    writeStatus(c, s, completionStatus(r[0]!));
    return 0;
  };

  const all = (name: string, blocking: boolean) => (count: number, requests: number, a: number, b?: number) => {
    const c = new Call(st, name).live();
    const { span, handles, active } = requestArray(c, requests, count);
    const flagPtr = blocking ? undefined : c.span("flag", a, 4).ptr;
    const s = statusSpan(c, blocking ? a : b!, count);
    const r = active.length === 0 ? [] : c.ask<AllReply>({ op: blocking ? "wait" : "test", reqs: active.map((i) => handles[i]!), mode: "all" });
    if (flagPtr !== undefined) c.setInt(flagPtr, r === null ? 0 : 1, "flag");
    if (r === null) return 0;
    handles.forEach((_, i) => writeStatus(c, s, EMPTY, i));
    active.forEach((i, k) => {
      finish(c, handles[i]!, span.ptr + 4 * i, r[k]!);
      writeStatus(c, s, completionStatus(r[k]!), i);
    });
    return 0;
  };

  const any = (name: string, blocking: boolean) => (count: number, requests: number, index: number, a: number, b?: number) => {
    const c = new Call(st, name).live();
    const { span, handles, active } = requestArray(c, requests, count);
    const idx = c.span("index", index, 4).ptr;
    const flagPtr = blocking ? undefined : c.span("flag", a, 4).ptr;
    const s = statusSpan(c, blocking ? a : b!);
    if (active.length === 0) {
      c.setInt(idx, UNDEFINED, "index");
      if (flagPtr !== undefined) c.setInt(flagPtr, 1, "flag");
      writeStatus(c, s, EMPTY);
      return 0;
    }
    const r = c.ask<AnyReply>({ op: blocking ? "wait" : "test", reqs: active.map((i) => handles[i]!), mode: "any" });
    if (flagPtr !== undefined) c.setInt(flagPtr, r === null ? 0 : 1, "flag");
    if (r === null) {
      c.setInt(idx, UNDEFINED, "index");
      return 0;
    }
    const i = active[r.index]!;
    finish(c, handles[i]!, span.ptr + 4 * i, r.completion);
    c.setInt(idx, i, "index");
    writeStatus(c, s, completionStatus(r.completion));
    return 0;
  };

  return {
    MPI_Wait: one("MPI_Wait", true),
    MPI_Test: one("MPI_Test", false),
    MPI_Waitall: all("MPI_Waitall", true),
    MPI_Testall: all("MPI_Testall", false),
    MPI_Waitany: any("MPI_Waitany", true),
    MPI_Testany: any("MPI_Testany", false),

    MPI_Cancel: (request) => {
      const c = new Call(st, "MPI_Cancel").live();
      const h = c.int(request, "request");
      pending(c, h);
      c.ask({ op: "cancel", req: h });
      return 0;
    },

    MPI_Request_free: (request) => {
      const c = new Call(st, "MPI_Request_free").live();
      const h = c.int(request, "request");
      if (pending(c, h).kind === "recv") throw c.fail("freeing a pending receive would lose where its message goes; wait for it or cancel it");
      c.ask({ op: "request_free", req: h });
      st.requests.delete(h);
      c.setInt(request, REQUEST_NULL, "request");
      return 0;
    },

    MPI_Test_cancelled: (status, flag) => {
      const c = new Call(st, "MPI_Test_cancelled");
      const f = c.span("flag", flag, 4);
      c.setInt(f.ptr, statusCancelled(c, status) ? 1 : 0, "flag");
      return 0;
    },
  };
}
