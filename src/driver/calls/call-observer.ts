import type { PendingCall } from "./call.ts";

/**
 * What watches calls go by: progress, metrics, traces and the dashboard (driver/observe/).
 * Every call the cluster makes (plain, `f.ref`, goroutines, SPMD ranks, lineage rebuilds)
 * reports here, so a view counts the same calls whichever way they were made. An observer
 * must be cheap and must not throw: these run on the call path.
 */
export interface CallObserver {
  /** The call was made (its arguments encoded); it may wait for inputs or a runner. */
  submitted(call: PendingCall): void;
  /** The call went to a runner (`call.link`, `call.lanePort`); again for each resend. */
  sent(call: PendingCall): void;
  /** The call settled for good (retries are not settlements): `error` undefined means it succeeded. */
  settled(call: PendingCall, error: Error | undefined): void;
}
