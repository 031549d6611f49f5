// How actor operations travel: as ordinary Call frames whose export name says what to do
// (as an SPMD rank's does), so every path a call takes — lanes, the main link, results,
// errors with remote stacks, output lines, spans and metrics — serves actors unchanged.
//
//   strand:actor:new:<actorId>:<Class>[:<name>]     construct; the last argument is a SpawnDescriptor
//                                                   (the name, URI-encoded, is read by the main thread)
//   strand:actor:call:<actorId>:<Class>.<method>    run a method in the actor's mailbox
//   strand:actor:kill:<actorId>:<Class>             end it (pending calls fail with ActorDiedError)
//
// Actor ids never hold ':' (driver prefix, '.a', a counter) and class names never hold '.',
// so every part parses without escaping; `Class.method` is what errors, metrics and spans show.

export const ACTOR_PREFIX = "strand:actor:";
const NEW = `${ACTOR_PREFIX}new:`;
const CALL = `${ACTOR_PREFIX}call:`;
const KILL = `${ACTOR_PREFIX}kill:`;

export type ActorOp =
  | { op: "new"; actorId: string; className: string; name?: string }
  | { op: "call"; actorId: string; className: string; method: string }
  | { op: "kill"; actorId: string; className: string };

export const newWireName = (actorId: string, className: string, name: string | null): string =>
  `${NEW}${actorId}:${className}${name === null ? "" : `:${encodeURIComponent(name)}`}`;
export const callWireName = (actorId: string, className: string, method: string): string => `${CALL}${actorId}:${className}.${method}`;
export const killWireName = (actorId: string, className: string): string => `${KILL}${actorId}:${className}`;

export const isActorOp = (exportName: string): boolean => exportName.startsWith(ACTOR_PREFIX);

/** The operation an export name stands for, or undefined if it is not an actor's. */
export function parseActorOp(exportName: string): ActorOp | undefined {
  const op = exportName.startsWith(NEW) ? "new" : exportName.startsWith(CALL) ? "call" : exportName.startsWith(KILL) ? "kill" : undefined;
  if (op === undefined) return undefined;
  const rest = exportName.slice((op === "new" ? NEW : op === "call" ? CALL : KILL).length);
  const colon = rest.indexOf(":");
  if (colon <= 0 || colon === rest.length - 1) return undefined;
  const actorId = rest.slice(0, colon);
  const name = rest.slice(colon + 1);
  if (op === "new") {
    const c = name.indexOf(":");
    return c === -1 ? { op, actorId, className: name } : { op, actorId, className: name.slice(0, c), name: decodeURIComponent(name.slice(c + 1)) };
  }
  if (op === "kill") return { op, actorId, className: name };
  const dot = name.indexOf(".");
  if (dot <= 0 || dot === name.length - 1) return undefined;
  return { op, actorId, className: name.slice(0, dot), method: name.slice(dot + 1) };
}

/** The function an actor operation is named as in errors, metrics and spans: `Counter.add`. */
export function actorOpLabel(op: ActorOp): string {
  return op.op === "new" ? `${op.className}.constructor` : op.op === "call" ? `${op.className}.${op.method}` : `${op.className}.kill`;
}

/** The last argument of a spawn: what the thread needs besides the constructor's arguments. */
export interface SpawnDescriptor {
  /** Calls that may run at once (async methods interleave); 1: one at a time, in order. */
  maxConcurrency: number;
  /** Registered under this name on its runner (cluster.actor(name) finds it). */
  name: string | null;
  /** Lives until killed, not until its owner lets go or leaves. */
  detached: boolean;
  /** The owner driver's id prefix: its lane hears checkpoints; its leaving ends the actor unless detached. */
  owner: string;
  /** A restart: the state its last checkpoint() returned, handed to restore() after construction. */
  restore: { state: unknown } | null;
  /** The module bundle's hash (other callers name it when they call the actor). */
  hash: string;
  /** Restarts so far (0: the first incarnation). */
  incarnation: number;
}

/** Where an actor lives and how to reach it: what a spawn answers and what a handle carries. */
export interface ActorAddress {
  id: string;
  className: string;
  /** The runner's address as drivers dial it ("host:port"). */
  runner: string;
  /** The lane of the thread that hosts it. */
  host: string;
  port: number;
  /** Its module bundle's hash. */
  hash: string;
  owner: string;
  name: string | null;
  incarnation: number;
}

/** The actor's own id: the owner's id prefix, `.a`, a counter (unique per driver). */
export const actorIdOf = (prefix: string, n: number): string => `${prefix}.a${n}`;
