import type { ModuleRef } from "../bundle.ts";

// A plain call that has to wait for room in a window, kept as little as it can be until it
// is sent: its module, export, arguments (as given: primitives only), the promise's two
// resolving functions and when it was made. The PendingCall (208 bytes, and the arguments'
// encoding and its view: 136 more) is made as the call leaves the queue.
//
// Why: a burst of 100,000 calls issued at once holds nearly all of them in the queue, and the
// young generation's scavenges copy (then promote) everything held: issuing the burst was
// two thirds GC in the driver's profile (docs/decisions.md, "One burst: calls queued as
// QueuedCalls").

/** The arguments of a call that has none: one array for all of them. */
const NO_ARGS: readonly unknown[] = Object.freeze([]);

/** Strings longer than this are encoded at once (their size against the frame limit is checked then). */
const MAX_STRING = 1024;
/** Calls with more arguments than this are encoded at once. */
const MAX_ARGS = 64;

export class QueuedCall {
  constructor(
    readonly module: ModuleRef,
    readonly exportName: string,
    readonly args: readonly unknown[],
    readonly resolve: (v: unknown) => void,
    readonly reject: (e: Error) => void,
    /** performance.now() when it was made: the PendingCall's `submittedAt`. */
    readonly submittedAt: number,
  ) {}
}

/**
 * Arguments that may wait unencoded: nothing in them can change before they are encoded (the
 * array is the call's own rest array, its elements primitives) and their encoding cannot fail
 * nor approach a frame limit, so encoding them as the call is sent is the same as at once.
 * Returns what to keep (one shared array for no arguments), or undefined: encode now.
 */
export function waitingArgs(args: unknown[]): readonly unknown[] | undefined {
  const n = args.length;
  if (n === 0) return NO_ARGS;
  if (n > MAX_ARGS) return undefined;
  for (let i = 0; i < n; i++) {
    const x = args[i];
    switch (typeof x) {
      case "number":
        if (Object.is(x, -0)) return undefined; // the codec's walk carries -0
        break;
      case "boolean": case "undefined": break;
      case "string":
        if (x.length > MAX_STRING) return undefined;
        break;
      default:
        if (x !== null) return undefined;
    }
  }
  return args;
}
