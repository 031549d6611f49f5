import type { Completion, Request, Status, ValueKind } from "../../comm.ts";
import type { Receipt } from "./mailbox.ts";

// Requests (MPI_Request) are the promises isend/irecv always returned, with test() and
// cancel() attached: existing `await c.irecv()` code sees no difference. A receive's state
// is its mailbox receipt's, which changes at the match itself; a send's is known once its
// promise settles.

const noop = (): void => {};

/** A send: done when its promise settles; never cancelled (it is on its way the moment it is made). */
export function sendRequest(sent: Promise<void>): Request<void> {
  let state: Completion<void> | undefined;
  let failure: { error: unknown } | undefined;
  // A new promise, not `sent` with a handler: a failed send nobody awaits stays an unhandled rejection.
  const p = sent.then(() => void (state = { cancelled: false, value: undefined }), (error: unknown) => {
    failure = { error };
    throw error;
  });
  return Object.assign(p, {
    test: (): Completion<void> | undefined => {
      if (failure !== undefined) throw failure.error;
      return state;
    },
    cancel: (): boolean => false,
  });
}

/** A posted receive: its value is made from the matched message once, for test() and the promise alike. */
export function receiveRequest<T>(r: Receipt, toValue: (m: NonNullable<Receipt["matched"]>) => T): Request<T> {
  let made: { value: T } | undefined;
  const valueOf = (m: NonNullable<Receipt["matched"]>): T => (made ??= { value: toValue(m) }).value;
  const p = r.promise.then(valueOf);
  return Object.assign(p, {
    test: (): Completion<T> | undefined => {
      if (r.matched !== undefined) return { cancelled: false, value: valueOf(r.matched) };
      if (r.cancelled) return { cancelled: true, value: undefined };
      if (r.failure !== undefined) throw r.failure;
      return undefined;
    },
    cancel: (): boolean => {
      if (!r.cancel()) return false;
      // The canceller knows: its CancelledError is for whoever awaits, not an unhandled rejection.
      p.catch(noop);
      return true;
    },
  });
}

/** A request that is done already (a receive from PROC_NULL, or one whose arguments failed). */
export function settledRequest<T>(value: T): Request<T> {
  return Object.assign(Promise.resolve(value), {
    test: (): Completion<T> => ({ cancelled: false, value }),
    cancel: (): boolean => false,
  });
}

/** A request that failed at the call (bad arguments): test() throws, awaiting rejects. */
export function failedRequest<T>(error: Error): Request<T> {
  return Object.assign(Promise.reject(error) as Promise<T>, {
    test: (): never => {
      throw error;
    },
    cancel: (): boolean => false,
  });
}

/** MPI_PROC_NULL's status: at once, nothing in it. */
export const NULL_STATUS = (source: number, tag: number): Status => ({ source, tag, bytes: 0, kind: "value", count: 0 });

/** What `probe` tells of a queued message (MPI_Status and MPI_Get_count's inputs). */
export function describe(value: unknown, encodedBytes: number, source: number, tag: number): Status {
  let kind: ValueKind;
  let bytes = encodedBytes;
  let count = 1;
  if (value instanceof ArrayBuffer) {
    kind = "ArrayBuffer";
    bytes = count = value.byteLength;
  } else if (value instanceof DataView) {
    kind = "DataView";
    bytes = count = value.byteLength;
  } else if (ArrayBuffer.isView(value)) {
    const t = value as unknown as { [Symbol.toStringTag]: ValueKind; length: number };
    kind = t[Symbol.toStringTag];
    bytes = value.byteLength;
    count = t.length;
  } else if (Array.isArray(value)) {
    kind = "array";
    count = value.length;
  } else kind = "value";
  return { source, tag, bytes, kind, count };
}
