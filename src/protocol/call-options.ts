/** Bounds on a remote call, or on a channel select. */
export interface CallOptions {
  /** Milliseconds before it fails with TimeoutError (a call's thread is then stopped). */
  timeout?: number;
  /** Aborting fails it with CancelledError (and stops a call's thread). */
  signal?: AbortSignal;
}
