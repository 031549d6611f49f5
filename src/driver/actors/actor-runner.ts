import type { PendingCall } from "../calls/call.ts";
import type { RunnerStats } from "../../protocol/messages.ts";

/** A runner, as actors need it (a RunnerLink). */
export interface ActorRunner {
  readonly address: string;
  readonly alive: boolean;
  readonly usable: boolean;
  readonly threads: number;
  /** Sends on the main connection (a spawn: the runner may need the code, and picks the thread). */
  send(call: PendingCall): void;
  /** Sends down the connection to the actor thread listening on `port`. */
  sendToActor(call: PendingCall, port: number): void;
  stats(): Promise<RunnerStats>;
  /** The decoded value of an object held there. */
  fetch(objectId: string): Promise<unknown>;
}
