import type { Logger } from "pino";
import { ActorDiedError, ActorExistsError, ActorNotFoundError, ClusterClosedError, RunnerLostError } from "../../errors.ts";
import { ActorRef } from "../../protocol/actor-ref.ts";
import { actorIdOf, callWireName, killWireName, newWireName, type ActorAddress, type SpawnDescriptor } from "../../protocol/actor-wire.ts";
import { decodeValue, encodeValue, setActorReviver, type Encoded } from "../../protocol/codec.ts";
import type { ActorStat } from "../../protocol/messages.ts";
import { parseAddress } from "../../transport/connection.ts";
import type { ModuleRef } from "../bundle.ts";
import { PendingCall } from "../calls/call.ts";
import { DEFAULT_RETRIES, type CallOptions } from "../calls/call-options.ts";
import type { SpawnOptions } from "../calls/remote-actor.ts";
import type { Goroutine } from "../calls/remote-function.ts";
import type { ObjectEntry } from "../objects/object-entry.ts";
import type { Ref } from "../objects/ref.ts";
import { makeHandle, type HandleTarget } from "./actor-handle.ts";
import { placeActor } from "./placement.ts";
import type { ActorRunner } from "./actor-runner.ts";

export type { ActorRunner } from "./actor-runner.ts";

/** What the driver's actors need of the cluster (cluster.ts is the one that knows every room). */
export interface ActorHost {
  readonly prefix: string;
  readonly log: Logger;
  runners(): readonly ActorRunner[];
  /** Resolves once a runner is usable; rejects as a call waiting for one would fail. */
  whenLive(operation: string): Promise<void>;
  closed(): boolean;
  /** Encodes arguments (throws at the call site) and finds the objects their Refs stand for. */
  encode(args: unknown[], label: string): { encoded: Encoded; deps: readonly ObjectEntry[] };
  /** The call was made: counted, observed. */
  submitted(call: PendingCall): void;
  /** A call made here settled (the cluster's counts). */
  settled(ok: boolean): void;
  /** Arms a call's timeout and signal. */
  arm(call: PendingCall, options: CallOptions): void;
  /** Waits for a call's inputs (the task graph: pins them until it settles), then runs `call.whenReady`. */
  awaitInputs(call: PendingCall): void;
  /** A Ref for a method call's result, kept where the actor lives (`f.ref`), and what settles it. */
  keep(call: PendingCall): { ref: Ref<unknown>; made: (kept: unknown) => void; failed: (e: Error) => void };
  /** Encoded bytes of an object, for a call that must carry it inline (an actor thread has no store). */
  inline(entry: ObjectEntry): Promise<Uint8Array[]>;
  goroutine(label: string, result: Promise<unknown>): Goroutine<unknown>;
  /** The module this driver imported with `hash`, if any (a handle decoded here names its actor's). */
  moduleOf(hash: string): ModuleRef | undefined;
}

type State = "starting" | "alive" | "restarting" | "dead";

/** A call waiting to go to its actor, in the order made. */
interface Outgoing {
  call: PendingCall;
  ready: boolean;
}

/** What this driver knows of one actor: spawned here (owned) or reached through a handle it was given. */
class ActorRecord {
  state: State = "starting";
  address: ActorAddress;
  runner: ActorRunner | undefined;
  /** Live handles in this process. */
  handles = 0;
  /** Pending calls of this driver that carry a handle to it in their arguments. */
  pins = 0;
  restarts = 0;
  /** The state its last checkpoint() returned, in the incarnation that returned it. */
  checkpoint: { incarnation: number; state: unknown } | undefined;
  /** Calls not sent yet, in order; a call waits for the ones before it. */
  readonly outbox: Outgoing[] = [];
  /** Calls lost with a dead incarnation that may go again (maxTaskRetries). */
  readonly again: PendingCall[] = [];
  /** An inline fetch is under way for the outbox's head. */
  busy = false;
  death: ActorDiedError | undefined;
  /** Settles once the actor has ended (kill, release). */
  ended: Promise<void> | undefined;

  constructor(
    readonly module: ModuleRef,
    address: ActorAddress,
    /** Spawned by this driver: it restarts it, and its handles keep it alive. */
    readonly owned: boolean,
    readonly options: Readonly<SpawnOptions>,
    /** The constructor's arguments (owned only): a restart runs it again with them. */
    readonly ctor: { encoded: Encoded; deps: readonly ObjectEntry[] } | undefined,
  ) {
    this.address = address;
  }

  get id(): string {
    return this.address.id;
  }

  get className(): string {
    return this.address.className;
  }
}

/** Ended actors cluster.stats still lists (the dashboard shows the last 20 that ended). */
const ENDED_SHOWN = 20;

/** Every cluster's actors in this process, by id prefix: decoding a handle finds its system. */
const byPrefix = new Map<string, Actors>();
/** Open clusters, newest last: a handle from another driver is reached with the newest one. */
const open: Actors[] = [];
setActorReviver((address) => {
  const system = byPrefix.get(address.owner) ?? open.at(-1);
  return system === undefined ? new ActorRef(address) : system.handleFor(address);
});

/**
 * The driver's actors: spawning them, sending their calls in order to the one thread that
 * hosts each, restarting them when their runner dies, and ending them when the last handle
 * goes. Handles are proxies (actor-handle.ts); the runner side is runner/actors/.
 */
export class Actors {
  private readonly records = new Map<string, ActorRecord>();
  /** Constructions under way, per runner: placement counts them, or concurrent spawns would all pick one runner. */
  private readonly placing = new Map<ActorRunner, number>();
  /** The last actors that ended (stats show them as "dead"); older ones are forgotten. */
  private readonly ended: ActorRecord[] = [];
  /** Actors not dead, per runner they are on: placement reads it (a scan of every record made each spawn O(n)). */
  private readonly onRunner = new Map<ActorRunner, number>();
  private next = 0;
  private readonly collected = new FinalizationRegistry<() => void>((release) => release());

  constructor(private readonly host: ActorHost) {
    byPrefix.set(host.prefix, this);
    open.push(this);
  }

  /** Actors this driver knows and has not seen end. */
  get live(): number {
    let n = 0;
    for (const r of this.records.values()) if (r.state !== "dead") n++;
    return n;
  }

  /** What this driver knows of its actors: id, class, runner, restarts (cluster.stats). */
  list(): { id: string; className: string; name: string | undefined; runner: string | undefined; state: string; restarts: number; owned: boolean; queued: number }[] {
    return [...this.records.values(), ...this.ended].map((r) => ({
      id: r.id, className: r.className, name: r.address.name ?? undefined, runner: r.runner?.address, state: r.state,
      restarts: r.restarts, owned: r.owned, queued: r.outbox.length,
    }));
  }

  // --- Spawning.

  async spawn(module: ModuleRef, className: string, args: unknown[], options: SpawnOptions = {}): Promise<unknown> {
    checkSpawnOptions(options);
    if (this.host.closed()) throw new ClusterClosedError(`${className}.spawn`);
    const ctor = this.host.encode(args, `${className}.constructor`);
    if (options.name !== undefined && options.runner === undefined) {
      // Names are kept per runner; a name live elsewhere is refused here (racing spawns of one
      // name meet on one runner only with getOrSpawn).
      const found = await this.find(options.name);
      if (found !== undefined) throw new ActorExistsError(options.name, found.id);
    }
    const id = actorIdOf(this.host.prefix, ++this.next);
    const address: ActorAddress = {
      id, className, runner: "", host: "", port: 0, hash: module.hash, owner: this.host.prefix, name: options.name ?? null, incarnation: 0,
    };
    const r = new ActorRecord(module, address, true, { ...options }, ctor);
    this.records.set(id, r);
    const handle = this.handleOf(r); // before construction: a handle collected meanwhile must not end it early
    for (let lost = 0, avoid: string | undefined; ; lost++) {
      try {
        await this.construct(r, avoid);
        break;
      } catch (err) {
        // Its runner died before it answered: nobody has seen this actor yet, so it is made on
        // another runner, as a plain call lost so runs again (unless it was asked to live there).
        if (err instanceof RunnerLostError && options.runner === undefined && lost < DEFAULT_RETRIES && r.state === "starting" && !this.host.closed()) {
          avoid = err.runner;
          continue;
        }
        this.records.delete(id);
        this.die(r, "its construction failed", err);
        throw err;
      }
    }
    return handle;
  }

  /** The actor named `options.name`, or a new one spawned so, on the runner that name maps to. */
  async getOrSpawn(module: ModuleRef, className: string, options: SpawnOptions & { name: string }, args: unknown[]): Promise<unknown> {
    checkSpawnOptions(options);
    const found = await this.find(options.name);
    if (found !== undefined) return this.handleFor(found);
    // Every driver asks the same runner for a name (rendezvous hashing over the live runners),
    // whose main thread takes the name before constructing: one of two racing spawns wins.
    const runner = options.runner ?? rendezvous(options.name, this.host.runners().filter((l) => l.usable).map((l) => l.address));
    for (let lost = 0; ; lost++) {
      try {
        return await this.spawn(module, className, args, { ...options, ...(runner === undefined ? {} : { runner }) });
      } catch (err) {
        if (!(err instanceof ActorExistsError)) throw err;
        // The runner takes a name when the spawn arrives, but lists the actor only once its
        // constructor has run: the winner may not be findable yet. Wait for it to come up (or
        // for its spawn to fail, freeing the name for another try here).
        const winner = await this.find(options.name);
        if (winner !== undefined) return this.handleFor(winner);
        if (this.host.closed()) throw err;
        await new Promise((resolve) => setTimeout(resolve, Math.min(250, 10 * 2 ** lost)));
      }
    }
  }

  /** A handle to the actor named `name` anywhere in the cluster. */
  async actor(name: string): Promise<unknown> {
    const found = await this.find(name);
    if (found === undefined) throw new ActorNotFoundError(name);
    return this.handleFor(found);
  }

  /** Asks every live runner which actors it holds, for the one named `name`. */
  private async find(name: string): Promise<ActorAddress | undefined> {
    await this.host.whenLive("actor lookup");
    const runners = this.host.runners().filter((l) => l.alive);
    const answers = await Promise.all(runners.map((l) => l.stats().then((s) => ({ l, actors: s.actors ?? [] }), () => undefined)));
    for (const a of answers) {
      const s: ActorStat | undefined = a?.actors.find((x) => x.name === name);
      if (a !== undefined && s !== undefined) {
        return {
          id: s.id, className: s.className, runner: a.l.address, host: parseAddress(a.l.address).host, port: s.port, hash: s.hash,
          owner: s.owner, name: s.name, incarnation: s.incarnation,
        };
      }
    }
    return undefined;
  }

  /** Runs the constructor on a runner (again, for a restart: `avoid` is where it died). */
  private async construct(r: ActorRecord, avoid: string | undefined): Promise<void> {
    await this.host.whenLive(`${r.className}.spawn`);
    const runner = placeActor(this.host.runners(), r.options.runner, avoid, (l) => this.actorsOn(l));
    const restore = r.address.incarnation > 0 && r.options.restartPolicy !== "fresh" && r.checkpoint !== undefined ? { state: r.checkpoint.state } : null;
    const desc: SpawnDescriptor = {
      maxConcurrency: r.options.maxConcurrency ?? 1, name: r.address.name, detached: r.options.detached === true, owner: this.host.prefix,
      restore, hash: r.module.hash, incarnation: r.address.incarnation,
    };
    // The descriptor rides as one more argument, after the constructor's (runner/actors/actor-host.ts).
    const { encoded } = encodeArgsWith(r.ctor!.encoded, desc);
    this.placing.set(runner, (this.placing.get(runner) ?? 0) + 1);
    let reply: unknown;
    try {
      reply = await new Promise<unknown>((resolve, reject) => {
        const call = new PendingCall(r.module, newWireName(r.id, r.className, r.address.name), encoded, true,
          (v) => { this.host.settled(true); resolve(v); },
          (e) => { this.host.settled(false); reject(e); },
          r.ctor!.deps);
        this.host.submitted(call);
        call.retries = 0;
        if (r.options.timeout !== undefined) this.host.arm(call, { timeout: r.options.timeout });
        runner.send(call);
      });
    } finally {
      // Counted as there from here on (r.runner, set below in this same turn).
      this.placing.set(runner, this.placing.get(runner)! - 1);
    }
    const { port } = reply as { port: number };
    if (r.state === "dead") {
      // Released or killed while it was being made: end this incarnation too.
      void this.sendKill(r, runner, port);
      return;
    }
    // Dialled as drivers dial the runner (its address), not as the thread says it listens.
    r.address = { ...r.address, runner: runner.address, host: parseAddress(runner.address).host, port };
    this.move(r, runner);
    r.state = "alive";
    this.host.log.debug({ actor: r.id, className: r.className, runner: runner.address, port }, "actor started");
    // Calls lost with the last incarnation go first, in the order they were made.
    r.again.sort((a, b) => a.seq - b.seq);
    r.outbox.unshift(...r.again.splice(0).map((call) => ({ call, ready: true })));
    this.flush(r);
  }

  private actorsOn(l: ActorRunner): number {
    return (this.placing.get(l) ?? 0) + (this.onRunner.get(l) ?? 0);
  }

  /** The actor is on `runner` now (counted there while it is not dead). */
  private move(r: ActorRecord, runner: ActorRunner | undefined): void {
    if (r.state !== "dead") this.count(r.runner, -1);
    r.runner = runner;
    if (r.state !== "dead") this.count(runner, 1);
  }

  private count(runner: ActorRunner | undefined, by: number): void {
    if (runner === undefined) return;
    const n = (this.onRunner.get(runner) ?? 0) + by;
    if (n === 0) this.onRunner.delete(runner);
    else this.onRunner.set(runner, n);
  }

  // --- Handles.

  /** A handle to an actor known by its address (decoded from a value, or found by name). */
  handleFor(address: ActorAddress): unknown {
    let r = this.records.get(address.id);
    if (r === undefined || (r.state === "dead" && !r.owned)) {
      const module = this.host.moduleOf(address.hash) ?? { ref: -1, hash: address.hash };
      r = new ActorRecord(module, address, false, {}, undefined);
      r.state = "alive";
      this.move(r, this.host.runners().find((l) => l.address === address.runner && l.alive));
      this.records.set(address.id, r);
      if (r.runner === undefined) this.die(r, `its runner ${address.runner} is not connected to this driver`);
    }
    return this.handleOf(r);
  }

  private handleOf(r: ActorRecord): unknown {
    r.handles++;
    const target: HandleTarget = {
      get address() {
        return r.address;
      },
      call: (method, args, options) => this.call(r, method, args, options, false) as Promise<unknown>,
      ref: (method, args, options) => this.call(r, method, args, options, true) as Ref<unknown>,
      go: (method, args) => this.host.goroutine(`${r.className}.${method}`, this.call(r, method, args, undefined, false) as Promise<unknown>),
      kill: () => this.kill(r, "killed"),
      released: () => {
        r.handles--;
        return this.maybeRelease(r);
      },
    };
    return makeHandle(target, this.collected);
  }

  /** Calls carrying handles keep their actors alive until they settle (as Refs keep objects). */
  pin(call: PendingCall, refs: readonly ActorRef[] | undefined): void {
    if (refs === undefined) return;
    for (const ref of refs) {
      const r = this.records.get(ref.address.id);
      if (r === undefined || !r.owned) continue;
      r.pins++;
      call.onSettle(() => {
        r.pins--;
        void this.maybeRelease(r);
      });
    }
  }

  /** No handle or call of its owner holds it any more: it ends (unless detached). */
  private maybeRelease(r: ActorRecord): Promise<void> {
    if (!r.owned || r.handles > 0 || r.pins > 0 || r.options.detached === true) return r.ended ?? Promise.resolve();
    return this.kill(r, "released: its owner holds no handle to it");
  }

  // --- Calls.

  private call(r: ActorRecord, method: string, args: unknown[], options: CallOptions | undefined, keep: boolean): Promise<unknown> | Ref<unknown> {
    const label = `${r.className}.${method}`;
    let encoded: Encoded;
    let deps: readonly ObjectEntry[];
    try {
      if (r.module.ref < 0) throw new ActorDiedError(r.id, r.className, "its module was not imported by this driver: import it first (cluster.import)");
      ({ encoded, deps } = this.host.encode(args, label));
    } catch (err) {
      if (keep) throw err;
      return Promise.reject(err as Error);
    }
    let call!: PendingCall;
    const made = new Promise<unknown>((resolve, reject) => {
      call = new PendingCall(r.module, callWireName(r.id, r.className, method), encoded, false,
        (v) => { this.host.settled(true); resolve(v); },
        (e) => { this.host.settled(false); reject(e); },
        deps);
    });

    call.actorId = r.id;
    const taskRetries = r.options.maxTaskRetries ?? 0;
    let lost = 0;
    call.retries = 0;
    this.pin(call, encoded.actors);
    let ref: Ref<unknown> | undefined;
    if (keep) {
      const kept = this.host.keep(call);
      ref = kept.ref;
      made.then(kept.made, kept.failed); // a failure reaches whoever reads the Ref
    }
    this.host.submitted(call);
    if (options !== undefined) this.host.arm(call, options);
    const out: Outgoing = { call, ready: deps.length === 0 };
    if (r.state === "dead") call.reject(r.death!);
    if (call.settled) return ref ?? made;
    r.outbox.push(out);
    if (deps.length > 0) {
      call.whenReady = () => {
        out.ready = true;
        this.flush(r);
      };
      this.host.awaitInputs(call);
    }
    // A lost send (the actor's runner or thread died) goes again to its next incarnation, if
    // allowed; anything else settles the call.
    call.retry = (e) => {
      if (!(e instanceof RunnerLostError)) return e;
      this.lost(r, e.message);
      if (r.state !== "dead" && lost++ < taskRetries) {
        r.again.push(call);
        return undefined;
      }
      return new ActorDiedError(r.id, r.className, r.state === "dead" ? r.death!.reason : `its runner or thread was lost while the call ran: ${e.reason}`, { cause: e });
    };
    this.flush(r);
    return ref ?? made;
  }

  /** Sends what may go, in order: the outbox's head, while it is ready. */
  private flush(r: ActorRecord): void {
    while (r.state === "alive" && !r.busy && r.outbox.length > 0) {
      const head = r.outbox[0]!;
      if (head.call.settled) {
        r.outbox.shift();
        continue;
      }
      if (!head.ready) return;
      // Stored inputs come inline: the actor's thread reads no store (and this keeps the one path).
      const stored = head.call.deps.filter((d) => d.inline === undefined && head.call.inlined?.get(d.id) === undefined);
      if (stored.length > 0) {
        r.busy = true;
        void Promise.all(stored.map((d) => this.host.inline(d).then((bytes) => [d.id, bytes] as const))).then(
          (pairs) => {
            head.call.inlined = new Map(pairs);
          },
          (err: unknown) => head.call.reject(err as Error),
        ).finally(() => {
          r.busy = false;
          this.flush(r);
        });
        return;
      }
      r.outbox.shift();
      r.runner!.sendToActor(head.call, r.address.port);
    }
  }

  // --- Deaths, restarts and ends.

  /** The actor's runner or thread is gone (seen by a call, or by the link). */
  private lost(r: ActorRecord, reason: string): void {
    if (r.state !== "alive") return;
    const restartable = r.owned && r.restarts < (r.options.maxRestarts ?? 0) && !this.host.closed();
    if (!restartable) return this.die(r, `its runner or thread was lost (${reason})`);
    r.state = "restarting";
    r.restarts++;
    r.address = { ...r.address, incarnation: r.address.incarnation + 1 };
    const avoid = r.runner?.address;
    this.host.log.warn({ actor: r.id, className: r.className, runner: avoid, restart: r.restarts, reason }, "actor lost: restarting it");
    const attempt = (): void => {
      this.construct(r, avoid).catch((err: unknown) => {
        if (r.state === "dead") return;
        // This incarnation never came up: another try spends another restart.
        if (r.restarts < (r.options.maxRestarts ?? 0) && !this.host.closed() && err instanceof RunnerLostError) {
          r.restarts++;
          attempt();
          return;
        }
        this.die(r, `its restart failed: ${(err as Error).message}`, err);
      });
    };
    attempt();
  }

  /** A runner link was lost: its actors are gone. */
  runnerLost(runner: ActorRunner, reason: string): void {
    for (const r of [...this.records.values()]) if (r.runner === runner) this.lost(r, reason);
  }

  /** The connection to an actor thread closed: the actors there are gone. */
  threadLost(runner: ActorRunner, port: number, reason: string): void {
    for (const r of [...this.records.values()]) if (r.runner === runner && r.address.port === port) this.lost(r, `its thread's connection closed: ${reason}`);
  }

  /** A checkpoint arrived: kept for a restart (the latest of the current incarnation). */
  checkpointed(actorId: string, incarnation: number, state: Encoded): void {
    const r = this.records.get(actorId);
    if (r === undefined || !r.owned || incarnation !== r.address.incarnation) return;
    try {
      r.checkpoint = { incarnation, state: decodeValue(state.body, state.attachments) };
    } catch (err) {
      this.host.log.error({ actor: actorId, err: (err as Error).message }, "undecodable checkpoint");
    }
  }

  private die(r: ActorRecord, reason: string, cause?: unknown): void {
    if (r.state === "dead" && r.death !== undefined) return;
    if (r.state !== "dead") this.count(r.runner, -1);
    r.state = "dead";
    r.death = new ActorDiedError(r.id, r.className, reason, cause === undefined ? undefined : { cause });
    // Forgotten here (its handles keep the record, and with it the death their calls fail
    // with): a driver that spawns and kills actors all day must not keep every one it made.
    if (this.records.get(r.id) === r) {
      this.records.delete(r.id);
      this.ended.push(r);
      if (this.ended.length > ENDED_SHOWN) this.ended.shift();
    }
    for (const o of r.outbox.splice(0)) o.call.reject(r.death);
    for (const c of r.again.splice(0)) {
      c.retry = undefined;
      c.reject(r.death);
    }
  }

  /** Ends the actor: from now on its calls fail; resolves once its runner has dropped it. */
  kill(r: ActorRecord, reason: string): Promise<void> {
    if (r.ended !== undefined) return r.ended;
    const wasAlive = r.state === "alive";
    const runner = r.runner;
    this.die(r, reason);
    if (!wasAlive || runner === undefined || !runner.alive) return (r.ended = Promise.resolve());
    return (r.ended = this.sendKill(r, runner, r.address.port));
  }

  private sendKill(r: ActorRecord, runner: ActorRunner, port: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const call = new PendingCall(r.module, killWireName(r.id, r.className), encodeValue([], "args"), false, () => resolve(), () => resolve());
      call.actorId = r.id;
      call.retries = 0;
      runner.sendToActor(call, port);
    });
  }

  /** The cluster is closing: every actor of this driver ends with its links. */
  close(): void {
    byPrefix.delete(this.host.prefix);
    const i = open.indexOf(this);
    if (i >= 0) open.splice(i, 1);
    for (const r of this.records.values()) this.die(r, "the cluster closed");
  }
}

/** The constructor's encoded arguments with the descriptor appended (an array one longer). */
function encodeArgsWith(ctor: Encoded, desc: SpawnDescriptor): { encoded: Encoded } {
  const args = decodeValue(ctor.body, ctor.attachments, undefined) as unknown[];
  return { encoded: encodeValue([...args, desc], "args") };
}

function checkSpawnOptions(o: SpawnOptions): void {
  const count = (v: number | undefined, what: string, min: number): void => {
    if (v !== undefined && !(Number.isInteger(v) && v >= min)) throw new TypeError(`spawn: ${what} must be an integer >= ${min}, got ${String(v)}`);
  };
  count(o.maxConcurrency, "maxConcurrency", 1);
  count(o.maxRestarts, "maxRestarts", 0);
  count(o.maxTaskRetries, "maxTaskRetries", 0);
  if (o.timeout !== undefined && !(o.timeout > 0)) throw new TypeError(`spawn: timeout must be > 0 ms, got ${String(o.timeout)}`);
  if (o.name !== undefined && (typeof o.name !== "string" || o.name === "")) throw new TypeError("spawn: name must be a non-empty string");
  if (o.detached === true && o.name === undefined) throw new TypeError("spawn: only a named actor may be detached (nothing could find it otherwise)");
  if (o.restartPolicy !== undefined && o.restartPolicy !== "checkpoint" && o.restartPolicy !== "fresh") {
    throw new TypeError(`spawn: restartPolicy must be "checkpoint" or "fresh", got ${String(o.restartPolicy)}`);
  }
}

/** The runner a name maps to, the same from every driver seeing the same runners (highest random weight). */
function rendezvous(name: string, addresses: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const a of addresses) {
    const score = fnv1a(`${a}\u0000${name}`);
    if (score > bestScore || (score === bestScore && a < best!)) {
      best = a;
      bestScore = score;
    }
  }
  return best;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
