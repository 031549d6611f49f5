import { ImportError } from "../../errors.ts";
import type { CallOptions } from "./call-options.ts";
import type { Ref, RefOr } from "../objects/ref.ts";

/** A function type whose arguments are unconstrained: the bound for "any function". */
type AnyFunction = (...args: never[]) => unknown;

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

/** A module's exported functions, each callable on the cluster. Non-function exports are left out. */
export type Remote<M> = {
  readonly [K in keyof M as M[K] extends AnyFunction ? K : never]: M[K] extends AnyFunction ? RemoteFunction<M[K]> : never;
};

/** Where a remote function leads: read by `cluster.spmd` to run it as ranks. */
export const kRemoteTarget = Symbol("strand.remote.target");
export interface RemoteTarget {
  readonly owner: object;
  readonly exportName: string;
}

/** The export a remote function calls, if `f` is one. */
export function remoteTarget(f: unknown): RemoteTarget | undefined {
  return typeof f === "function" ? (f as { [kRemoteTarget]?: RemoteTarget })[kRemoteTarget] : undefined;
}

export interface Invoke {
  /** The cluster the calls go to. */
  readonly owner: object;
  call(exportName: string, args: unknown[], options: CallOptions | undefined): Promise<unknown>;
  ref(exportName: string, args: unknown[], options: CallOptions | undefined): Ref<unknown>;
  go(exportName: string, args: unknown[]): Goroutine<unknown>;
}

/** Builds the proxy: a property per export; an unknown name yields a function that rejects with ImportError. */
export function makeRemote<M>(module: string, exports: readonly string[], invoke: Invoke): Remote<M> {
  const known = new Set(exports);
  const cache = new Map<string, unknown>();
  const make = (name: string): unknown => {
    if (!known.has(name)) {
      const error = (): ImportError => new ImportError(`${module} has no export "${name}"`);
      const missing = (): Promise<never> => Promise.reject(error());
      return Object.assign(missing, { with: () => missing, ref: () => { throw error(); }, go: () => { throw error(); } });
    }
    const f = (...args: unknown[]): Promise<unknown> => invoke.call(name, args, undefined);
    return Object.assign(f, {
      with: (options: CallOptions) => (...args: unknown[]) => invoke.call(name, args, options),
      ref: (...args: unknown[]) => invoke.ref(name, args, undefined),
      go: (...args: unknown[]) => invoke.go(name, args),
      [kRemoteTarget]: { owner: invoke.owner, exportName: name } satisfies RemoteTarget,
    });
  };
  return new Proxy({} as Remote<M>, {
    get(_target, prop) {
      // `await cluster.import()` probes `then`; a Remote must not look like a promise.
      if (typeof prop !== "string" || prop === "then") return undefined;
      let f = cache.get(prop);
      if (f === undefined) cache.set(prop, (f = make(prop)));
      return f;
    },
    has: (_t, prop) => typeof prop === "string" && known.has(prop),
    ownKeys: () => [...known],
    getOwnPropertyDescriptor: (_t, prop) =>
      typeof prop === "string" && known.has(prop) ? { enumerable: true, configurable: true, value: cache.get(prop) ?? make(prop) } : undefined,
  });
}
