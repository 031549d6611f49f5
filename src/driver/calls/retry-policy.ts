import { ObjectLostError, RunnerLostError } from "../../errors.ts";
import type { PendingCall } from "./call.ts";

/**
 * Re-sends of a call its runner answered before starting it: an input it could not fetch,
 * or a stopping runner turning it away. The function did not run, so these do not spend
 * `retries`; the bound stops a call chasing an object between holders that keep losing
 * it, or going round runners that are all stopping.
 */
const MAX_UNSTARTED_SENDS = 3;

/**
 * The one retry policy of the driver. A send is repeated only when the system lost it,
 * never when the function failed:
 * - its runner was lost (link closed, heartbeats stopped, process killed) or the thread
 *   connection it was on closed: RunnerLostError. Sent again, to another runner if one is
 *   live (with none, once one comes, within `waitForRunners`), at most `call.retries`
 *   times: the function may have run (partly), so this is only for work that may run twice;
 * - its runner could not fetch an input (ObjectLostError naming one): sent again once the
 *   input is found elsewhere or remade (the function had not started);
 * - its runner is stopping and turned it away unrun (a RunnerLostError marked notStarted):
 *   sent again to another runner without spending `retries`.
 * Never retried: application errors (RemoteError), TimeoutError, CancelledError,
 * SerializationError, ImportError, a call whose timeout or signal fired (it has settled),
 * goroutines (the channels they held broke with the runner) and SPMD ranks (a lost rank
 * aborts its job).
 */
export class RetryPolicy {
  /** Sends repeated so far, for the cluster's stats. */
  resent = 0;

  /**
   * @param canResend whether a call taken back has somewhere to go: a usable runner, or
   * the wait for one (`waitForRunners`). Without either, a lost send fails at once.
   */
  constructor(private readonly canResend: () => boolean) {}

  /**
   * Called with the failure of a send. Returns undefined if the call is taken back:
   * `resend` then runs once the failing link has finished its own cleanup (unless the
   * call settles meanwhile: a timeout or signal). Otherwise returns the error to settle with.
   */
  take(call: PendingCall, e: Error, resend: () => void): Error | undefined {
    // Not on a runner when it failed (still queued, or between two sends): nothing was lost.
    if (call.link === undefined) return this.final(call, e);
    if (call.concurrent || call.rank !== undefined) return e;
    if (call.notStarted) {
      // Turned away by a stopping runner before it began: safe to send again whatever
      // `retries` says; elsewhere, since that runner takes nothing new.
      call.notStarted = false;
      if (call.unstartedSends >= MAX_UNSTARTED_SENDS || !this.canResend()) return this.final(call, e);
      call.unstartedSends++;
      call.avoid = call.link;
    } else if (e instanceof RunnerLostError) {
      if (call.lostSends >= call.retries || !this.canResend()) return this.final(call, e);
      call.lostSends++;
      call.avoid = call.link;
    } else if (e instanceof ObjectLostError && call.deps.some((d) => d.id === e.objectId)) {
      if (call.unstartedSends >= MAX_UNSTARTED_SENDS) return e;
      call.unstartedSends++;
    } else {
      return e;
    }
    this.resent++;
    call.link = undefined;
    call.fetchedFrom = undefined;
    queueMicrotask(() => {
      if (!call.settled) resend();
    });
    return undefined;
  }

  /** The error a call settles with: a lost runner's says how many sends were made. */
  private final(call: PendingCall, e: Error): Error {
    if (!(e instanceof RunnerLostError) || call.attempts === 0 || call.concurrent || call.rank !== undefined) return e;
    return new RunnerLostError(e.runner, e.reason, call.attempts);
  }
}
