import { PendingCall } from "../../src/driver/calls/call.ts";
import type { ObjectEntry } from "../../src/driver/objects/object-entry.ts";

/** How a call settled, as its caller would see it. */
export type Settlement =
  | { state: "pending" }
  | { state: "resolved"; value: unknown }
  | { state: "rejected"; error: Error };

export interface CallOptions {
  deps?: readonly ObjectEntry[];
  /** Holds channels: a goroutine. */
  goroutine?: boolean;
  retries?: number;
  rank?: number;
}

/** A call as the cluster makes one, with its settlement on the side. */
export interface TestCall {
  call: PendingCall;
  readonly settled: Settlement;
}

/** A plain call of `name`; nothing is encoded, since nothing here reads the arguments. */
export function makeCall(name: string, options: CallOptions = {}): TestCall {
  let settled: Settlement = { state: "pending" };
  const args = { body: new Uint8Array(0), attachments: [], ...(options.goroutine === true ? { chans: [] } : {}) };
  const call = new PendingCall({ ref: 1, hash: "h" }, name, args, false,
    (value) => { settled = { state: "resolved", value }; },
    (error) => { settled = { state: "rejected", error }; },
    options.deps ?? []);
  if (options.retries !== undefined) call.retries = options.retries;
  call.rank = options.rank;
  return {
    call,
    get settled() {
      return settled;
    },
  };
}

/** The error a call settled with (throws if it did not fail). */
export function errorOf(c: TestCall): Error {
  const s = c.settled;
  if (s.state !== "rejected") throw new Error(`${c.call.exportName} did not fail: ${s.state}`);
  return s.error;
}

/** Names of calls, for comparing orders. */
export const names = (calls: readonly PendingCall[]): string[] => calls.map((c) => c.exportName);
