import { threadId } from "node:worker_threads";
import { ActorDiedError, ImportError, ProtocolError } from "../../errors.ts";
import { encodeValue } from "../../protocol/codec.ts";
import { frameOf, T, type ActorStat } from "../../protocol/messages.ts";
import type { ActorOp, SpawnDescriptor } from "../../protocol/actor-wire.ts";
import { Mailbox } from "./mailbox.ts";

// Runs on an actor thread (runner/actors/actor-threads.ts): the instances living here, each
// with its mailbox. Constructing one is a call (`strand:actor:new:…`, actor-wire.ts) that the
// main thread hands to this thread; its method calls come straight down this thread's lane.

type Instance = Record<string | symbol, unknown>;

interface HostedActor {
  readonly id: string;
  readonly className: string;
  readonly instance: Instance;
  readonly mailbox: Mailbox;
  readonly desc: SpawnDescriptor;
  /** The class has checkpoint(): its state goes to the owner after every call. */
  readonly checkpoints: boolean;
  calls: number;
}

const actors = new Map<string, HostedActor>();
/** Where this thread's lane listens, as drivers dial it. */
let lane: { host: string; port: number } | undefined;
/** Each driver's connection to this thread, by its id prefix: where its actors' checkpoints go. */
const owners = new Map<string, (frame: Uint8Array[]) => void>();

/** The lane is up (lane.ts): spawns answer with this address. */
export function setActorLane(host: string, port: number): void {
  lane = { host, port };
}

/**
 * A driver's connection to this thread declared its prefix (T.Owner), or (`send` undefined)
 * the connection `was` closed. Returns whether the driver has no connection here any more.
 */
export function actorOwnerPath(prefix: string, send: ((frame: Uint8Array[]) => void) | undefined, was?: (frame: Uint8Array[]) => void): boolean {
  if (send !== undefined) owners.set(prefix, send);
  else if (owners.get(prefix) === was) owners.delete(prefix);
  return !owners.has(prefix);
}

/**
 * How long a spawned actor waits for its owner to connect to its thread (which the owner does
 * as soon as the spawn answers) before it is taken for an orphan whose owner died meanwhile.
 */
const OWNER_WAIT_MS = 30_000;

/** Told which actors came and went (once per tick): the main thread spreads spawns and keeps names by it. */
let countListener: ((count: number, born: string[], gone: string[]) => void) | undefined;
let born: string[] = [];
let gone: string[] = [];

export function onActorCount(listener: (count: number, born: string[], gone: string[]) => void): void {
  countListener = listener;
}

function counted(id: string, alive: boolean): void {
  if (countListener === undefined) return;
  const first = born.length + gone.length === 0;
  (alive ? born : gone).push(id);
  if (!first) return;
  queueMicrotask(() => {
    const b = born;
    const g = gone;
    born = [];
    gone = [];
    countListener?.(actors.size, b, g);
  });
}

/** What the runner's stats say of each actor here. */
export function actorStats(): ActorStat[] {
  return [...actors.values()].map((a) => ({
    id: a.id, className: a.className, name: a.desc.name, owner: a.desc.owner, thread: threadId, port: lane?.port ?? 0, hash: a.desc.hash,
    mailbox: a.mailbox.depth, running: a.mailbox.active, calls: a.calls, incarnation: a.desc.incarnation, detached: a.desc.detached,
  }));
}

/** What a spawn answers: where the actor is. */
export interface SpawnReply {
  host: string;
  port: number;
  thread: number;
}

/**
 * Runs an actor operation with its decoded arguments. `invoke` runs user code as the call
 * (so what it prints is the call's). Returns the value, or a promise of it; throws for a
 * failure found at once.
 */
export function runActorOp(op: ActorOp, ns: Record<string, unknown>, args: unknown[], invoke: (f: (...a: unknown[]) => unknown, args: unknown[]) => unknown, signal?: AbortSignal): unknown {
  switch (op.op) {
    case "new": return spawn(op.actorId, op.className, ns, args, invoke);
    case "call": {
      const a = actors.get(op.actorId);
      if (a === undefined) throw new ActorDiedError(op.actorId, "?", "it is not on this thread (killed, released, or its owner left)");
      const fn = methodOf(a, op.method);
      a.calls++;
      return a.mailbox.post(() => {
        const v = invoke((...x) => fn.apply(a.instance, x), args);
        return a.checkpoints ? afterCall(a, v) : v;
      }, signal);
    }
    case "kill": return kill(op.actorId, "killed");
  }
}

function spawn(actorId: string, className: string, ns: Record<string, unknown>, args: unknown[], invoke: (f: (...a: unknown[]) => unknown, args: unknown[]) => unknown): unknown {
  const desc = args.pop() as SpawnDescriptor;
  if (typeof desc !== "object" || desc === null || typeof desc.maxConcurrency !== "number") throw new ProtocolError("a spawn without its descriptor");
  if (lane === undefined) throw new ProtocolError("an actor spawned on a thread without a lane");
  if (actors.has(actorId)) throw new ProtocolError(`actor ${actorId} exists on this thread already`);
  const Cls = ns[className];
  if (typeof Cls !== "function") {
    throw new ImportError(Cls === undefined ? `module has no export "${className}"` : `export "${className}" is a ${typeof Cls}, not a class`);
  }
  const mailbox = new Mailbox(desc.maxConcurrency);
  const instance = invoke((...a) => Reflect.construct(Cls, a) as unknown, args) as Instance;
  const checkpoints = typeof instance.checkpoint === "function";
  const a: HostedActor = { id: actorId, className, instance, mailbox, desc, checkpoints, calls: 0 };
  const reply: SpawnReply = { ...lane, thread: threadId };
  const register = (): SpawnReply => {
    actors.set(actorId, a);
    counted(actorId, true);
    if (!desc.detached && !owners.has(desc.owner)) {
      setTimeout(() => {
        if (!owners.has(desc.owner)) kill(actorId, "its owner driver never connected to it");
      }, OWNER_WAIT_MS).unref();
    }
    return reply;
  };
  if (desc.restore === null) return register();
  if (typeof instance.restore !== "function") throw new TypeError(`${className} has checkpoint() but no restore(state): it cannot be restarted from its checkpoint`);
  // Restored before any call can reach it: the actor is registered only once restore() is done.
  const restored = invoke((s) => (instance.restore as (s: unknown) => unknown).call(instance, s), [desc.restore.state]);
  return typeof (restored as { then?: unknown } | null)?.then === "function" ? (restored as Promise<unknown>).then(register) : register();
}

/** A public method of the actor's class (own or inherited, never Object's or the constructor). */
function methodOf(a: HostedActor, method: string): (...x: unknown[]) => unknown {
  let fn: unknown;
  if (method !== "constructor" && !(method in Object.prototype)) fn = a.instance[method];
  if (typeof fn !== "function") throw new ImportError(`${a.className} has no method "${method}"`);
  return fn as (...x: unknown[]) => unknown;
}

/**
 * After a call of a class with checkpoint(): its state goes to the owner before the call's
 * result does (the owner's calls come on that same connection, so every call whose result the
 * owner saw is in the checkpoint it holds). A failed call checkpoints too: it may have changed
 * the state before it threw.
 */
function afterCall(a: HostedActor, v: unknown): unknown {
  if (typeof (v as { then?: unknown } | null)?.then === "function") {
    return (v as Promise<unknown>).then(
      async (x) => { await checkpoint(a); return x; },
      async (err: unknown) => { await checkpoint(a); throw err; },
    );
  }
  const c = checkpoint(a);
  return c === undefined ? v : c.then(() => v);
}

function checkpoint(a: HostedActor): Promise<void> | undefined {
  const send = (state: unknown): void => {
    const enc = encodeValue(state, `${a.className}.checkpoint()`);
    owners.get(a.desc.owner)?.(frameOf([T.ActorState, a.id, a.desc.incarnation], enc));
  };
  const s = (a.instance.checkpoint as () => unknown).call(a.instance);
  if (typeof (s as { then?: unknown } | null)?.then !== "function") {
    send(s);
    return undefined;
  }
  return (s as Promise<unknown>).then(send);
}

/** Ends an actor: calls waiting in its mailbox fail; those running finish. Returns whether it lived here. */
export function kill(actorId: string, reason: string): boolean {
  const a = actors.get(actorId);
  if (a === undefined) return false;
  actors.delete(actorId);
  counted(actorId, false);
  a.mailbox.close(new ActorDiedError(actorId, a.className, reason));
  // Its own clean-up, if it has one (a connection pool closing its connections).
  for (const key of [Symbol.asyncDispose, Symbol.dispose]) {
    const dispose = a.instance[key];
    if (typeof dispose === "function") {
      void Promise.resolve().then(() => (dispose as () => unknown).call(a.instance)).catch(() => {});
      break;
    }
  }
  return true;
}

/** A driver left this runner: its actors go with it, unless detached. */
export function ownerLeft(prefix: string): void {
  for (const a of [...actors.values()]) if (a.desc.owner === prefix && !a.desc.detached) kill(a.id, "its owner driver left");
}
