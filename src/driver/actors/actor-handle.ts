import { ActorRef } from "../../protocol/actor-ref.ts";
import type { ActorAddress } from "../../protocol/actor-wire.ts";
import type { CallOptions } from "../calls/call-options.ts";
import type { Ref } from "../objects/ref.ts";
import type { Goroutine } from "../calls/remote-function.ts";

/** What a handle asks of the driver's actors (actors.ts): its calls, and its life. */
export interface HandleTarget {
  readonly address: ActorAddress;
  call(method: string, args: unknown[], options: CallOptions | undefined): Promise<unknown>;
  ref(method: string, args: unknown[], options: CallOptions | undefined): Ref<unknown>;
  go(method: string, args: unknown[]): Goroutine<unknown>;
  kill(): Promise<void>;
  /** This handle let go (release, dispose, or collected): once per handle. */
  released(): Promise<void>;
}

const CONTROL = new Set(["actorId", "actorName", "className", "kill", "release", "then", "constructor", "address", "toJSON"]);

/**
 * A handle: a proxy over an ActorRef (so the codec carries it as the actor's address), whose
 * every other property is a method of the actor. Handles are cheap; each copy is counted by
 * the driver until it is released or collected.
 */
export function makeHandle(target: HandleTarget, onCollect: FinalizationRegistry<() => void>): unknown {
  let released: Promise<void> | undefined;
  const release = (): Promise<void> => (released ??= target.released());
  const methods = new Map<string, unknown>();
  const method = (name: string): unknown => {
    let f = methods.get(name);
    if (f === undefined) {
      f = Object.assign((...args: unknown[]) => target.call(name, args, undefined), {
        with: (options: CallOptions) => (...args: unknown[]) => target.call(name, args, options),
        ref: (...args: unknown[]) => target.ref(name, args, undefined),
        go: (...args: unknown[]) => target.go(name, args),
      });
      methods.set(name, f);
    }
    return f;
  };
  const control: Record<string | symbol, unknown> = {
    actorId: target.address.id,
    actorName: target.address.name ?? undefined,
    className: target.address.className,
    kill: () => target.kill(),
    release: () => void release(),
    [Symbol.dispose]: () => void release(),
    [Symbol.asyncDispose]: () => release(),
    toJSON: () => ({ actor: target.address.id, className: target.address.className }),
  };
  const ref = new ActorRef(target.address);
  const handle = new Proxy(ref, {
    get(_t, prop) {
      if (prop === "address") return target.address; // where it lives now (a restart moves it)
      if (prop === "constructor") return ActorRef;
      if (prop === "then") return undefined; // a handle is not a promise (await must not probe it)
      if (Object.hasOwn(control, prop)) return control[prop];
      if (typeof prop !== "string") return undefined;
      return method(prop);
    },
    has: (_t, prop) => Object.hasOwn(control, prop) || (typeof prop === "string" && !CONTROL.has(prop)),
    set: () => false,
    defineProperty: () => false,
  });
  // Collected without a release: let go then. The callback names no handle (it would keep it alive).
  onCollect.register(handle, () => void release(), ref);
  return handle;
}
