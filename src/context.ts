// The context of the remote call running now, for the function it runs: `context().signal`
// aborts when the caller's timeout or AbortSignal fires, so a loop can stop on its own
// before the runner has to stop its thread. Read through a registered symbol, because a
// user module bundles its own copy of this file.

/** What a remote function can know about the call it is running. */
export interface CallContext {
  /** Aborts when the caller gave up (timeout or AbortSignal). Never aborts outside a cancellable call. */
  readonly signal: AbortSignal;
}

const kContext = Symbol.for("strand.context");
const never: CallContext = { signal: new AbortController().signal };

/** The running call's context (inside a remote function), or one whose signal never aborts. */
export function context(): CallContext {
  const current = (globalThis as { [kContext]?: () => CallContext | undefined })[kContext];
  return current?.() ?? never;
}

/** For the runner's worker threads: where `context()` finds the running call's context. */
export function provideContext(current: () => CallContext | undefined): void {
  (globalThis as { [kContext]?: () => CallContext | undefined })[kContext] = current;
}
