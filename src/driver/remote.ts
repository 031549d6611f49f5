import { ImportError } from "../errors.ts";
import type { CallOptions } from "./call.ts";

/** A function type whose arguments are unconstrained: the bound for "any function". */
type AnyFunction = (...args: never[]) => unknown;

/** The remote twin of `F`: same parameters, the result always as a promise. */
export type RemoteFunction<F extends AnyFunction> = ((...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>>) & {
  /** The same call with a timeout and/or an AbortSignal. */
  with(options: CallOptions): (...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>>;
};

/** A module's exported functions, each callable on the cluster. Non-function exports are left out. */
export type Remote<M> = {
  readonly [K in keyof M as M[K] extends AnyFunction ? K : never]: M[K] extends AnyFunction ? RemoteFunction<M[K]> : never;
};

export type Invoke = (exportName: string, args: unknown[], options: CallOptions | undefined) => Promise<unknown>;

/** Builds the proxy: a property per export; an unknown name yields a function that rejects with ImportError. */
export function makeRemote<M>(module: string, exports: readonly string[], invoke: Invoke): Remote<M> {
  const known = new Set(exports);
  const cache = new Map<string, unknown>();
  const make = (name: string): unknown => {
    if (!known.has(name)) {
      const missing = (): Promise<never> => Promise.reject(new ImportError(`${module} has no export "${name}"`));
      return Object.assign(missing, { with: () => missing });
    }
    const f = (...args: unknown[]): Promise<unknown> => invoke(name, args, undefined);
    return Object.assign(f, { with: (options: CallOptions) => (...args: unknown[]) => invoke(name, args, options) });
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
