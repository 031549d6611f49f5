import type { Logger } from "pino";
import type { CallObserver, JobInfo } from "../calls/call.ts";
import type { PendingCall } from "../calls/call.ts";

/**
 * The cluster's observers as one: every call points here, whether or not anyone watches, so
 * a view started mid-run still hears calls made before it. With nobody watching a call pays
 * one loop over an empty array per event. A throwing observer is logged, never the caller's
 * problem.
 */
export class Observers implements CallObserver {
  private list: CallObserver[] = [];
  private seq = 0;
  private jobSeq = 0;

  constructor(private readonly log: Logger) {}

  /** Starts telling `o` about calls; the returned function stops it. */
  add(o: CallObserver): () => void {
    this.list = [...this.list, o];
    return () => {
      this.list = this.list.filter((x) => x !== o);
    };
  }

  get size(): number {
    return this.list.length;
  }

  /** `at`: when it was made, if before now (a QueuedCall's, made into its PendingCall as it is sent). */
  submitted(call: PendingCall, at = performance.now()): void {
    call.observer = this;
    call.seq = ++this.seq;
    call.submittedAt = at;
    // try/catch in the loop, not a closure per event: these run three times per call.
    for (const o of this.list) {
      try {
        o.submitted(call);
      } catch (err) {
        this.threw(err, "submitted");
      }
    }
  }

  sent(call: PendingCall): void {
    for (const o of this.list) {
      try {
        o.sent(call);
      } catch (err) {
        this.threw(err, "sent");
      }
    }
  }

  settled(call: PendingCall, error: Error | undefined): void {
    for (const o of this.list) {
      try {
        o.settled(call, error);
      } catch (err) {
        this.threw(err, "settled");
      }
    }
  }

  /** An SPMD job of `size` ranks was asked for: the returned record goes to endJob. */
  startJob(size: number): JobInfo {
    const job: JobInfo = { seq: ++this.jobSeq, size, startedAt: performance.now(), settledAt: 0 };
    for (const o of this.list) if (o.jobStarted !== undefined) this.safely(o, "jobStarted", () => o.jobStarted!(job));
    return job;
  }

  endJob(job: JobInfo, error: Error | undefined): void {
    job.settledAt = performance.now();
    for (const o of this.list) if (o.jobSettled !== undefined) this.safely(o, "jobSettled", () => o.jobSettled!(job, error));
  }

  private safely(_o: CallObserver, what: string, f: () => void): void {
    try {
      f();
    } catch (err) {
      this.threw(err, what);
    }
  }

  private threw(err: unknown, what: string): void {
    this.log.error({ err: (err as Error).message, event: what }, "a call observer threw");
  }
}
