import { ObjectLostError, RunnerLostError } from "../../src/errors.ts";
import type { Encoded } from "../../src/protocol/codec.ts";
import type { PendingCall } from "../../src/driver/calls/call.ts";
import type { RunnerPort } from "../../src/driver/calls/runner-port.ts";
import type { ChanPeer, Outcome } from "../../src/channels/channel-home.ts";
import type { Kept } from "../../src/driver/objects/object-entry.ts";

/** Who hears from a runner, as the cluster wires a real link: a freed slot, a loss. */
export interface FakeHost {
  slotFreed(runner: FakeRunner): void;
  lost(runner: FakeRunner): void;
}

export interface FakeRunnerOptions {
  address?: string;
  threads?: number;
  /** Calls (goroutines aside) it may hold at once; a real link adapts it (CallWindow). */
  window?: number;
  execMicros?: number;
  host?: FakeHost;
}

let nextAddress = 1;

/**
 * A runner in memory, as the driver's calls, objects and channels see one (RunnerPort,
 * ObjectHolder, ChanPeer). It records what it is sent and answers only when the test says
 * so, which is what makes the scheduler's decisions observable one at a time. Room and
 * liveness follow RunnerLink's rules: goroutines do not count against the window, a
 * draining runner takes nothing new, a lost one rejects everything in flight first and
 * then tells its host.
 */
export class FakeRunner implements RunnerPort, ChanPeer {
  /** Reads of any runner's load or room (usable, hasRoom, inFlight): what a placement looks at. */
  static looks = 0;
  readonly address: string;
  threads: number;
  window: number;
  execMicros: number;
  alive = true;
  draining = false;
  putBytes = 0;
  host: FakeHost | undefined;
  /** Every call sent here, in order (resends included). */
  readonly sent: PendingCall[] = [];
  readonly cancelled: PendingCall[] = [];
  /** Object ids it was told to free. */
  readonly freed: string[] = [];
  /** Objects stored here (put, pull), by id: what `fetch` answers. */
  readonly stored = new Map<string, unknown>();
  /** Channel operations answered through it, and channels whose credits it was asked back. */
  readonly replies: { opId: number; outcome: Outcome }[] = [];
  readonly revoked: string[] = [];
  private readonly inflight = new Set<PendingCall>();
  private parked = 0;
  private nextId = 1;

  constructor(options: FakeRunnerOptions = {}) {
    this.address = options.address ?? `fake-${nextAddress++}:7700`;
    this.threads = options.threads ?? 1;
    this.window = options.window ?? this.threads * 2;
    this.execMicros = options.execMicros ?? 1000;
    this.host = options.host;
  }

  get usable(): boolean {
    FakeRunner.looks++;
    return this.alive && !this.draining;
  }

  get inFlight(): number {
    FakeRunner.looks++;
    return this.inflight.size;
  }

  get hasRoom(): boolean {
    FakeRunner.looks++;
    return this.alive && !this.draining && this.inflight.size - this.parked < this.window;
  }

  /** Calls sent here and not answered yet, oldest first. */
  get running(): PendingCall[] {
    return [...this.inflight];
  }

  send(call: PendingCall): void {
    if (!this.alive || this.draining) throw new Error(`${this.address} was sent a call while not usable`);
    call.id = this.nextId++;
    call.link = this;
    call.attempts++;
    this.inflight.add(call);
    if (call.concurrent) this.parked++;
    this.sent.push(call);
  }

  /** The call returned `value` (for a kept result: what the runner says it kept). */
  resolve(call: PendingCall, value: unknown): void {
    this.finish(call);
    call.resolve(value);
    this.host?.slotFreed(this);
  }

  /** The call's result is kept here, `bytes` long. */
  keep(call: PendingCall, bytes: number): void {
    this.resolve(call, { bytes } satisfies Kept);
  }

  /** The call failed here with `error` (an application error, or an input it could not fetch). */
  reject(call: PendingCall, error: Error): void {
    this.finish(call);
    call.reject(error);
    this.host?.slotFreed(this);
  }

  /** The thread connection the call was on closed: that call is lost, the runner lives on. */
  dropCall(call: PendingCall, reason = "its thread connection closed"): void {
    this.finish(call);
    call.reject(new RunnerLostError(this.address, reason));
    this.host?.slotFreed(this);
  }

  /** The runner is stopping and turned the call away before it started. */
  turnAway(call: PendingCall): void {
    this.finish(call);
    this.draining = true;
    call.notStarted = true;
    call.reject(new RunnerLostError(this.address, "runner is stopping; the call did not start"));
    this.host?.slotFreed(this);
  }

  /** Answers every call in flight here, oldest first: kept results `bytes` long, plain ones `value`. */
  answerAll(bytes = 8, value: unknown = null): number {
    const calls = this.running;
    for (const c of calls) if (c.keep !== undefined) this.keep(c, bytes); else this.resolve(c, value);
    return calls.length;
  }

  /** The runner dies: what was in flight fails, then its host hears of it. */
  lose(reason = "killed by the test"): void {
    if (!this.alive) return;
    this.alive = false;
    const calls = this.running;
    this.inflight.clear();
    this.parked = 0;
    for (const c of calls) c.reject(new RunnerLostError(this.address, reason));
    this.host?.lost(this);
  }

  cancel(call: PendingCall): void {
    this.cancelled.push(call);
  }

  put(objectId: string, value: Encoded): Promise<number> {
    if (!this.alive) return Promise.reject(new RunnerLostError(this.address, "lost"));
    this.stored.set(objectId, value);
    return Promise.resolve(value.body.byteLength);
  }

  pull(objectId: string, from: string): Promise<number> {
    if (!this.alive) return Promise.reject(new RunnerLostError(this.address, "lost"));
    this.stored.set(objectId, `pulled from ${from}`);
    return Promise.resolve(0);
  }

  fetch(objectId: string): Promise<unknown> {
    if (!this.stored.has(objectId)) return Promise.reject(new ObjectLostError(objectId, `not on ${this.address}`));
    return Promise.resolve(this.stored.get(objectId));
  }

  free(objectIds: string[]): void {
    this.freed.push(...objectIds);
    for (const id of objectIds) this.stored.delete(id);
  }

  reply(opId: number, outcome: Outcome): void {
    this.replies.push({ opId, outcome });
  }

  revoke(chan: string): void {
    this.revoked.push(chan);
  }

  take(objectId: string): Promise<Uint8Array[]> {
    return Promise.reject(new ObjectLostError(objectId, "the fake runner keeps no channel values"));
  }

  private finish(call: PendingCall): void {
    if (!this.inflight.delete(call)) throw new Error(`call ${call.exportName} is not in flight on ${this.address}`);
    if (call.concurrent) this.parked--;
  }
}
