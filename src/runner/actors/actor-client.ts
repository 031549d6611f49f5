import { ActorDiedError, CancelledError, TimeoutError } from "../../errors.ts";
import { ActorRef } from "../../protocol/actor-ref.ts";
import { callWireName, killWireName, type ActorAddress } from "../../protocol/actor-wire.ts";
import type { CallOptions } from "../../protocol/call-options.ts";
import { decodeValue, encodeValue, setActorReviver } from "../../protocol/codec.ts";
import { dialPeer, type ClientDialing } from "../../protocol/handshake.ts";
import { frameOf, payloadOf, T } from "../../protocol/messages.ts";
import { readHeader, reads } from "../../protocol/read-header.ts";
import { resultError } from "../../protocol/result-error.ts";
import type { Connection } from "../../transport/connection.ts";

// Handles to actors inside remote functions and actors: a handle that arrives in a call's
// arguments (or a channel value, or an object) decodes to a proxy whose methods call the
// actor's thread straight from this thread, over one authenticated connection per actor
// thread (the usual handshake, token and TLS), as channel clients reach channel homes. The
// driver is not on the path. Such a handle does not keep its actor alive (its owner's do),
// and it follows no restart: it fails with ActorDiedError once the actor is gone.

/** What a thread's actor clients read from an actor thread. */
const CLIENT_READS = reads("from an actor's thread", T.Result, T.Heartbeat, T.Log);

type Dialing = ClientDialing;

let dialing: Dialing | undefined;

/** How this thread dials actor threads (worker.ts, as the thread starts). */
export function setActorDialing(d: Dialing): void {
  dialing = d;
}

interface Waiting {
  resolve(v: unknown): void;
  reject(e: Error): void;
  label: string;
  address: ActorAddress;
}

/** One actor thread as this thread reaches it. */
class ActorConnection {
  private conn: Connection | undefined;
  private queued: Uint8Array[][] | undefined = [];
  private broken: string | undefined;
  private readonly waiting = new Map<number, Waiting>();
  private readonly modules = new Map<string, number>();
  private nextId = 1;

  constructor(readonly key: string, host: string, port: number, d: Dialing, private readonly gone: () => void) {
    dialPeer(host, port, d).then((conn) => {
      if (this.broken !== undefined) return conn.destroy();
      conn.on("frame", (segs: Uint8Array[]) => this.onFrame(conn, segs));
      conn.on("close", (err?: Error) => this.lose(err === undefined ? "its thread's connection closed" : `its thread's connection failed: ${err.message}`));
      this.conn = conn;
      for (const f of this.queued ?? []) conn.send(f);
      this.queued = undefined;
    }).catch((err: unknown) => this.lose(`cannot reach its thread: ${(err as Error).message}`));
  }

  call(address: ActorAddress, wireName: string, label: string, args: unknown[], options: CallOptions | undefined): Promise<unknown> {
    if (this.broken !== undefined) return Promise.reject(new ActorDiedError(address.id, address.className, this.broken));
    const enc = encodeValue(args, "args"); // throws at the call site
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      let ref = this.modules.get(address.hash);
      if (ref === undefined) {
        this.modules.set(address.hash, (ref = this.modules.size + 1));
        this.send(frameOf([T.Module, ref, address.hash]));
      }
      const settle = bounds(options, label, (e) => {
        // Gone from the mailbox if it has not started (else its context's signal aborts).
        if (this.waiting.delete(id)) this.send(frameOf([T.Cancel, id]));
        reject(e);
      });
      this.waiting.set(id, {
        resolve: (v) => { settle(); resolve(v); },
        reject: (e) => { settle(); reject(e); },
        label, address,
      });
      this.send(frameOf([T.Call, id, ref, wireName, false], enc));
    });
  }

  private send(frame: Uint8Array[]): void {
    if (this.conn !== undefined) this.conn.send(frame);
    else this.queued?.push(frame);
  }

  private onFrame(conn: Connection, segs: Uint8Array[]): void {
    try {
      const h = readHeader(segs, CLIENT_READS);
      if (h[0] !== T.Result) return;
      const w = this.waiting.get(h[1]);
      if (w === undefined) return; // timed out or cancelled here first
      this.waiting.delete(h[1]);
      const { body, attachments } = payloadOf(segs);
      const value = decodeValue(body, attachments);
      if (h[2]) w.resolve(value);
      else w.reject(resultError(value, w.label, w.address.runner));
    } catch (err) {
      conn.destroy(err as Error);
    }
  }

  private lose(why: string): void {
    if (this.broken !== undefined) return;
    this.broken = why;
    this.queued = undefined;
    this.gone();
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(new ActorDiedError(w.address.id, w.address.className, why));
  }
}

/** A call's timeout and signal, as on the driver: the caller stops waiting (the actor's call still runs). */
function bounds(options: CallOptions | undefined, label: string, fail: (e: Error) => void): () => void {
  if (options === undefined) return () => {};
  const { timeout, signal } = options;
  if (signal?.aborted === true) {
    queueMicrotask(() => fail(new CancelledError(`${label} cancelled before it started`, { cause: signal.reason })));
    return () => {};
  }
  const timer = timeout === undefined ? undefined : setTimeout(() => fail(new TimeoutError(label, timeout)), timeout);
  const onAbort = (): void => fail(new CancelledError(`${label} cancelled`, { cause: signal?.reason }));
  signal?.addEventListener("abort", onAbort, { once: true });
  return () => {
    if (timer !== undefined) clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  };
}

const connections = new Map<string, ActorConnection>();

function connectionTo(address: ActorAddress): ActorConnection {
  const key = `${address.host}:${address.port}`;
  let c = connections.get(key);
  if (c === undefined) {
    if (dialing === undefined) throw new ActorDiedError(address.id, address.className, "this thread cannot reach actors (started without its network settings)");
    const made: ActorConnection = new ActorConnection(key, address.host, address.port, dialing, () => {
      if (connections.get(key) === made) connections.delete(key);
    });
    connections.set(key, (c = made));
  }
  return c;
}

const notHere = (what: string) => (): never => {
  throw new TypeError(`${what} is offered by the driver's handles only: inside a remote function, call the method`);
};

/** A handle on this thread: the actor's methods (and `.with`), `kill()`, its id, class and name. */
function threadHandle(address: ActorAddress): unknown {
  const call = (method: string, args: unknown[], options: CallOptions | undefined): Promise<unknown> => {
    try {
      return connectionTo(address).call(address, callWireName(address.id, address.className, method), `${address.className}.${method}`, args, options);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  };
  const control: Record<string | symbol, unknown> = {
    actorId: address.id,
    actorName: address.name ?? undefined,
    className: address.className,
    kill: () => connectionTo(address).call(address, killWireName(address.id, address.className), `${address.className}.kill`, [], undefined).then(() => undefined),
    release: () => {},
    [Symbol.dispose]: () => {},
    [Symbol.asyncDispose]: () => Promise.resolve(),
    toJSON: () => ({ actor: address.id, className: address.className }),
  };
  const methods = new Map<string, unknown>();
  return new Proxy(new ActorRef(address), {
    get(t, prop) {
      if (prop === "address") return t.address;
      if (prop === "constructor") return ActorRef;
      if (prop === "then") return undefined;
      if (Object.hasOwn(control, prop)) return control[prop];
      if (typeof prop !== "string") return undefined;
      let f = methods.get(prop);
      if (f === undefined) {
        f = Object.assign((...args: unknown[]) => call(prop, args, undefined), {
          with: (options: CallOptions) => (...args: unknown[]) => call(prop, args, options),
          ref: notHere(`${address.className}.${prop}.ref`),
          go: notHere(`${address.className}.${prop}.go`),
        });
        methods.set(prop, f);
      }
      return f;
    },
    set: () => false,
    defineProperty: () => false,
  });
}

/** Handles decoded on this thread become thread handles. */
export function startActorClients(d: Dialing): void {
  setActorDialing(d);
  setActorReviver(threadHandle);
}
