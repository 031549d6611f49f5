import type { CallOptions } from "./call-options.ts";
import type { Ref, RefOr } from "../objects/ref.ts";

/** A function type whose arguments are unconstrained: the bound for "any function". */
export type AnyFunction = (...args: never[]) => unknown;

/** The parameters of `F`, each of which may also be given as a Ref (or hold Refs inside). */
export type RemoteParameters<F extends AnyFunction> = RefArgs<Parameters<F>>;
type RefArgs<P extends readonly unknown[]> = { [K in keyof P]: RefOr<P[K]> };

/** The remote twin of `F`: same parameters (or Refs to them), the result always as a promise. */
export type RemoteFunction<F extends AnyFunction> = ((...args: RemoteParameters<F>) => Promise<Awaited<ReturnType<F>>>) & {
  /** The same call with a timeout and/or an AbortSignal. */
  with(options: CallOptions): (...args: RemoteParameters<F>) => Promise<Awaited<ReturnType<F>>>;
  /**
   * Runs the call and keeps the result on the runner that made it: returns a Ref at once.
   * Pass the Ref to other calls (they wait for it) or read it with `cluster.get(ref)`.
   */
  ref(...args: RemoteParameters<F>): Ref<Awaited<ReturnType<F>>>;
  /**
   * Starts the call like Go's `go f(x)`: nothing to await. A failure is not lost: it is on
   * the returned handle and emitted as the cluster's `"error"` event (logged if nobody listens).
   */
  go(...args: RemoteParameters<F>): Goroutine<Awaited<ReturnType<F>>>;
};

/** A call started with `f.go(...)`. */
export interface Goroutine<R> {
  readonly function: string;
  /** Settles with the call; awaiting it is optional (its rejection is never unhandled). */
  readonly result: Promise<R>;
  /** Set once the call has failed. */
  readonly error: Error | undefined;
  readonly settled: boolean;
}

