import { ImportError } from "../../errors.ts";
import type { CallOptions } from "./call-options.ts";
import type { Ref } from "../objects/ref.ts";
import type { AnyFunction, Goroutine, RemoteFunction } from "./remote-function.ts";
import type { RemoteClass, SpawnOptions } from "./remote-actor.ts";

export type { AnyFunction, Goroutine, RemoteFunction, RemoteParameters } from "./remote-function.ts";

/** A class the module exports (not abstract: the runner constructs it). */
type AnyClass = new (...args: never[]) => unknown;

/**
 * A module's exports as the cluster offers them: each function callable on the cluster, each
 * class with `spawn` (an actor). Other exports are left out.
 */
export type Remote<M> = {
  readonly [K in keyof M as M[K] extends AnyFunction | AnyClass ? K : never]: M[K] extends AnyFunction ? RemoteFunction<M[K]>
    : M[K] extends new (...args: infer A) => infer I ? RemoteClass<A, I> : never;
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
  /** Spawns an actor of exported class `exportName`. */
  spawn(exportName: string, args: unknown[], options: SpawnOptions | undefined): Promise<unknown>;
  getOrSpawn(exportName: string, options: SpawnOptions & { name: string }, args: unknown[]): Promise<unknown>;
}

/** Builds the proxy: a property per export; an unknown name yields a function that rejects with ImportError. */
export function makeRemote<M>(module: string, exports: readonly string[], invoke: Invoke): Remote<M> {
  const known = new Set(exports);
  const cache = new Map<string, unknown>();
  const make = (name: string): unknown => {
    if (!known.has(name)) {
      const error = (): ImportError => new ImportError(`${module} has no export "${name}"`);
      const missing = (): Promise<never> => Promise.reject(error());
      return Object.assign(missing, {
        with: () => missing, ref: () => { throw error(); }, go: () => { throw error(); },
        spawn: Object.assign(missing, { with: () => missing }), getOrSpawn: missing,
      });
    }
    const f = (...args: unknown[]): Promise<unknown> => invoke.call(name, args, undefined);
    return Object.assign(f, {
      with: (options: CallOptions) => (...args: unknown[]) => invoke.call(name, args, options),
      ref: (...args: unknown[]) => invoke.ref(name, args, undefined),
      go: (...args: unknown[]) => invoke.go(name, args),
      // A class's (whether the export is one, the runner finds out: a function cannot be spawned).
      spawn: Object.assign((...args: unknown[]) => invoke.spawn(name, args, undefined), {
        with: (options: SpawnOptions) => (...args: unknown[]) => invoke.spawn(name, args, options),
      }),
      getOrSpawn: (options: SpawnOptions & { name: string }, ...args: unknown[]) => invoke.getOrSpawn(name, options, args),
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
