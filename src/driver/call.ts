import type { Encoded } from "../protocol/codec.ts";
import type { RunnerLink } from "./runner-link.ts";

/** A bundle as calls name it: a small number per cluster, declared to each runner once. */
export interface ModuleRef {
  ref: number;
  hash: string;
}

export interface CallOptions {
  /** Milliseconds before the call fails with TimeoutError and its thread is stopped. */
  timeout?: number;
  /** Aborting fails the call with CancelledError and stops its thread. */
  signal?: AbortSignal;
}

/** One remote call from submission to settlement. */
export class PendingCall {
  id = 0;
  link: RunnerLink | undefined;
  settled = false;
  /** Set while waiting in the scheduler's queue. */
  queued = false;
  /** Already re-sent once after the thread connection it was on closed. */
  laneRetried = false;
  private cleanup: (() => void) | undefined;

  constructor(
    readonly module: ModuleRef,
    readonly exportName: string,
    readonly args: Encoded,
    /** Has a timeout or signal: the runner must not batch it with others. */
    readonly solo: boolean,
    private readonly onResolve: (v: unknown) => void,
    private readonly onReject: (e: Error) => void,
  ) {}

  onSettle(cleanup: () => void): void {
    this.cleanup = cleanup;
  }

  resolve(v: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.cleanup?.();
    this.onResolve(v);
  }

  reject(e: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.cleanup?.();
    this.onReject(e);
  }
}
