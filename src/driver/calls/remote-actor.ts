import type { CallOptions } from "./call-options.ts";
import type { RefOr } from "../objects/ref.ts";
import type { RemoteFunction } from "./remote-function.ts";

/** A function type whose arguments are unconstrained: the bound for "any method". */
type AnyMethod = (...args: never[]) => unknown;

/** Members every handle has; a class's methods of these names are not reachable through one. */
export type ActorControlMember = "actorId" | "actorName" | "className" | "kill" | "release" | "then";

/**
 * A live actor, as every copy of its handle reaches it: each public method `m(...a): R` of
 * the class as `(...a) => Promise<Awaited<R>>` (with `.ref`, `.with` and `.go`, as remote
 * functions have). Fields, getters and private members (`#x`, `private`) are not exposed.
 */
export type RemoteActor<C> = {
  readonly [K in keyof C as C[K] extends AnyMethod ? (K extends ActorControlMember ? never : K) : never]: C[K] extends AnyMethod ? RemoteFunction<C[K]> : never;
} & ActorControl;

/** What every handle has besides the class's methods. */
export interface ActorControl {
  /** Unique in the cluster. */
  readonly actorId: string;
  /** The name it was spawned under (`spawn.with({ name })`), if any. */
  readonly actorName: string | undefined;
  readonly className: string;
  /**
   * Ends the actor now, from any handle: calls waiting in its mailbox fail with
   * ActorDiedError, and so do later calls through any handle. Resolves once it has ended.
   */
  kill(): Promise<void>;
  /**
   * Lets go of this handle (as dropping it for the garbage collector would, but now). When the
   * spawning driver holds no handle to the actor any more and no call of its carries one, the
   * actor ends (unless detached).
   */
  release(): void;
  [Symbol.dispose](): void;
  /** `await using`: releases; if that was the last handle, resolves once the actor has ended. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** How an actor is made and kept. */
export interface SpawnOptions {
  /**
   * Registers it in the cluster: `cluster.actor(name)` finds it from any driver. A name is
   * unique per runner at once, and cluster-wide for `getOrSpawn` (which always asks the same
   * runner); `spawn` refuses a name that a live actor has (ActorExistsError).
   */
  name?: string;
  /** The runner to live on (its address as the cluster lists it); default: the one with the most free capacity. */
  runner?: string;
  /** Calls that may run at once (async methods interleave up to this many). Default 1: one at a time, in order. */
  maxConcurrency?: number;
  /**
   * Times it is re-created after its runner (or thread) dies, on another runner, by running its
   * constructor again with the same arguments (then `restore(state)` with its last
   * `checkpoint()`, if the class has that pair). Default 0: it dies with its runner.
   */
  maxRestarts?: number;
  /**
   * Times a call in flight when the actor died is sent again to its restarted incarnation
   * (only for idempotent methods!). Default 0: such calls fail with ActorDiedError.
   */
  maxTaskRetries?: number;
  /** After a death: "checkpoint" (default) restores the last checkpoint if the class has one; "fresh" runs the constructor only. */
  restartPolicy?: "checkpoint" | "fresh";
  /** Lives until killed, not until its spawning driver lets go of it or leaves (named actors only). */
  detached?: boolean;
  /** Milliseconds the construction may take (TimeoutError past it; the actor is then killed). */
  timeout?: number;
}

/** An exported class, as a module imported with `cluster.import` offers it. */
export interface RemoteClass<A extends unknown[], I> {
  /** Creates an instance on a runner (its constructor runs there) and returns a handle to it. */
  spawn: ((...args: { [K in keyof A]: RefOr<A[K]> }) => Promise<RemoteActor<I>>) & {
    with(options: SpawnOptions): (...args: { [K in keyof A]: RefOr<A[K]> }) => Promise<RemoteActor<I>>;
  };
  /** The live actor named `options.name` if there is one (anywhere in the cluster), else a new one spawned so. */
  getOrSpawn(options: SpawnOptions & { name: string }, ...args: { [K in keyof A]: RefOr<A[K]> }): Promise<RemoteActor<I>>;
}

/** Per-call options of an actor's methods: as for remote functions. */
export type ActorCallOptions = CallOptions;
