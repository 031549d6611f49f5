// `go(f, ...args)` inside a remote function: starts `f` as a goroutine of the cluster, as
// Go's `go f(x)` does. This file is only the call and its registration: the runner's worker
// threads implement it (runner/goroutines/go-request.ts) and register it under a global symbol, because
// a user module bundles its own copy of this file.

/** A function type whose arguments are unconstrained: the bound for "any function". */
type AnyFunction = (...args: never[]) => unknown;

/** What a worker thread registers: starts `f(...args)` as a goroutine, or throws at the call. */
export type GoImpl = (f: AnyFunction, args: unknown[]) => void;

const kGo = Symbol.for("strand.go");

/**
 * Starts `f(...args)` as a goroutine of the cluster, where the driver's scheduler places it:
 * on this runner when that is cheapest, elsewhere when this runner is busy. Nothing to await;
 * a failure reaches the driver's `cluster.on("error")`. `f` must be an exported function of
 * a module the cluster imported (the runner knows which module and export a function is);
 * `args` are what a remote call takes (channels included). Throws at once: TypeError for any
 * other `f` or outside a remote function (on the driver, use `m.f.go(...)`), SerializationError
 * for an argument that cannot travel.
 */
export function go<F extends AnyFunction>(f: F, ...args: Parameters<F>): void {
  const impl = (globalThis as { [kGo]?: GoImpl })[kGo];
  if (impl === undefined) throw new TypeError("go() starts goroutines inside remote functions, on a runner; on the driver use m.f.go(...)");
  impl(f, args);
}

/** For the runner's worker threads: what `go()` runs. */
export function provideGo(impl: GoImpl): void {
  (globalThis as { [kGo]?: GoImpl })[kGo] = impl;
}
