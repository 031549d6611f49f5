import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { pino, type Logger } from "pino";
import { cliCommand } from "../src/driver/local.ts";
import { Cluster, local, type Chan, type RunnerEvent } from "../src/index.ts";
import { clientHandshake } from "../src/protocol/handshake.ts";
import { frameOf, T, type Header } from "../src/protocol/messages.ts";
import { ANY_MESSAGE, readHeader } from "../src/protocol/read-header.ts";
import { Connection, dial, parseAddress } from "../src/transport/connection.ts";
import { encodeFrame, FrameDecoder } from "../src/transport/frames.ts";

export const fixture = (name: string): URL => new URL(`./fixtures/${name}`, import.meta.url);

/** The repository root (the CLI is run from here). */
export const repoRoot = new URL("..", import.meta.url).pathname;

/** A local cluster for one test file: `await using c = await testCluster()`. */
export function testCluster(runners = 2, threads = 1): Promise<Cluster> {
  return local({ runners, threads });
}

/** A logger that drops everything: keeps in-process daemons quiet. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/** The rejection reason of a promise that must reject (fails the test if it resolves). */
export async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  try {
    const value = await p;
    throw new Error(`expected a rejection, got ${String(value)}`);
  } catch (err) {
    return err;
  }
}

/** A fresh empty temporary directory; remove it with `removeDir`. */
export function tempDir(prefix = "strand-test-"): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}

/** Opens a plain TCP socket to host:port (no Strand protocol). */
export function rawSocket(address: string): Promise<net.Socket> {
  const i = address.lastIndexOf(":");
  const host = address.slice(0, i).replace(/^\[|\]$/g, "");
  const port = Number(address.slice(i + 1));
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    s.once("connect", () => {
      s.off("error", reject);
      // A reset by the peer must not become an unhandled 'error' event.
      s.on("error", () => {});
      resolve(s);
    });
    s.once("error", reject);
  });
}

/** Resolves when the socket has closed (already closed sockets resolve at once). */
export function closed(socket: net.Socket): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve) => socket.once("close", () => resolve()));
}

/** SIGKILLs a child process (a runner, a head) and resolves once it has exited. */
export async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await exited(child);
}

/** Resolves with the exit code (or signal name) of a child process. */
export function exited(child: ChildProcess): Promise<number | NodeJS.Signals> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal!)));
}

/** Environment for child processes without any Strand settings leaking in from ours. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const k of ["STRAND_TOKEN", "STRAND_RUNNERS", "STRAND_HEAD", "STRAND_TLS_CERT", "STRAND_TLS_KEY", "STRAND_TLS_CA", "STRAND_METRICS", "STRAND_METRICS_TOKEN"]) if (!(k in extra)) delete env[k];
  return env;
}

export interface CliProcess {
  child: ChildProcess;
  /** Every stdout line so far. */
  lines: string[];
  /** Everything written to stdout / stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line matching `re` (rejects if the process exits first). */
  line(re: RegExp): Promise<RegExpExecArray>;
  exit: Promise<number | NodeJS.Signals>;
}

/** Runs `strand <args>` (our CLI from source) as a child process. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): CliProcess {
  const child = spawn(process.execPath, [...cliCommand(), ...args], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  createInterface({ input: child.stdout! }).on("line", (l) => {
    lines.push(l);
    for (const w of [...waiters]) {
      const m = w.re.exec(l);
      if (m !== null) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  const exit = exited(child);
  return {
    child, lines, exit,
    stdout: () => out,
    stderr: () => err,
    line: (re) => new Promise((resolve, reject) => {
      for (const l of lines) {
        const m = re.exec(l);
        if (m !== null) return resolve(m);
      }
      waiters.push({ re, resolve });
      void exit.then((code) => reject(new Error(`strand ${args.join(" ")} exited (${code}) before printing ${re}; stderr:\n${err}`)));
    }),
  };
}

/**
 * A peer that speaks raw frames over a plain socket: for tests that play a misbehaving
 * driver or runner. Frames are decoded with the real FrameDecoder.
 */
export class RawPeer {
  private readonly queue: Uint8Array[][] = [];
  private readonly waiters: { resolve: (f: Uint8Array[]) => void; reject: (e: Error) => void }[] = [];
  /** Every byte received, in order. */
  received: Uint8Array[] = [];
  isClosed = false;

  constructor(readonly socket: net.Socket) {
    const decoder = new FrameDecoder((segs) => {
      const frame = segs.map((s) => s.slice());
      const w = this.waiters.shift();
      if (w !== undefined) w.resolve(frame);
      else this.queue.push(frame);
    });
    socket.on("data", (chunk: Buffer) => {
      const bytes = new Uint8Array(chunk);
      this.received.push(bytes);
      decoder.push(bytes);
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.isClosed = true;
      for (const w of this.waiters.splice(0)) w.reject(new Error("socket closed"));
    });
  }

  static async connect(address: string): Promise<RawPeer> {
    return new RawPeer(await rawSocket(address));
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Sends one frame made of these segments. */
  sendFrame(segments: readonly Uint8Array[]): void {
    this.socket.write(Buffer.concat(encodeFrame(segments)));
  }

  send(header: Header, payload?: Uint8Array): void {
    this.sendFrame(frameOf(header, payload));
  }

  /** The next frame received (rejects if the socket closes first). */
  next(): Promise<Uint8Array[]> {
    const f = this.queue.shift();
    if (f !== undefined) return Promise.resolve(f);
    if (this.isClosed) return Promise.reject(new Error("socket closed"));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  async nextHeader(): Promise<Header> {
    return readHeader(await this.next(), ANY_MESSAGE);
  }

  closed(): Promise<void> {
    return closed(this.socket);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Splits a byte stream into frames (each frame as its segments). */
export function framesOf(stream: Uint8Array): Uint8Array[][] {
  const out: Uint8Array[][] = [];
  new FrameDecoder((segs) => out.push(segs.map((s) => s.slice()))).push(stream);
  return out;
}

/**
 * A driver made by hand from the real handshake and connection, for misbehaving on purpose.
 * `next()` resolves with the next frame other than a heartbeat or a lanes announcement;
 * it rejects once the connection has closed.
 */
export async function handDriver(address: string, token?: string): Promise<{ conn: Connection; next: () => Promise<Uint8Array[]> }> {
  const { host, port } = parseAddress(address);
  const conn = new Connection(await dial(host, port));
  const { backlog } = await clientHandshake(conn, token);
  const chatter = (f: Uint8Array[]): boolean => readHeader(f, ANY_MESSAGE)[0] === T.Heartbeat || readHeader(f, ANY_MESSAGE)[0] === T.Lanes;
  const queue: Uint8Array[][] = backlog.filter((f) => !chatter(f));
  const waiters: { resolve: (f: Uint8Array[]) => void; reject: (e: Error) => void }[] = [];
  let closedWith: Error | undefined;
  conn.on("frame", (segs) => {
    if (chatter(segs)) return;
    const w = waiters.shift();
    if (w) w.resolve(segs);
    else queue.push(segs);
  });
  conn.on("close", (err) => {
    closedWith = new Error(`connection closed${err ? `: ${err.message}` : ""}`);
    for (const w of waiters.splice(0)) w.reject(closedWith);
  });
  const next = (): Promise<Uint8Array[]> => {
    const f = queue.shift();
    if (f !== undefined) return Promise.resolve(f);
    if (closedWith !== undefined) return Promise.reject(closedWith);
    return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
  };
  return { conn, next };
}

/**
 * Records a cluster's "runner" events from now on; `next` resolves with the first one (past
 * or future) of a type and address, so a test awaits a rejoin instead of polling for it.
 */
export class RunnerEvents {
  readonly seen: RunnerEvent[] = [];
  private readonly waiters: { type: RunnerEvent["type"]; address: string; from: number; resolve: (e: RunnerEvent) => void }[] = [];

  constructor(cluster: Cluster) {
    cluster.on("runner", (e) => {
      this.seen.push(e);
      for (const w of [...this.waiters]) {
        if (w.type === e.type && w.address === e.address) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    });
  }

  /** The first event of `type` for `address` at or after index `from` of `seen`. */
  next<K extends RunnerEvent["type"]>(type: K, address: string, from = 0): Promise<Extract<RunnerEvent, { type: K }>> {
    const past = this.seen.slice(from).find((e) => e.type === type && e.address === address);
    if (past !== undefined) return Promise.resolve(past as Extract<RunnerEvent, { type: K }>);
    return new Promise((resolve) => this.waiters.push({ type, address, from, resolve: resolve as (e: RunnerEvent) => void }));
  }
}

/**
 * Connects a real driver to `address` through a relay that records every byte the driver
 * sends (a man in the middle), runs `session` on it, closes it, and returns the frames sent.
 */
export async function recordedSession(address: string, token: string, session: (c: Cluster) => Promise<void> = async () => {}): Promise<Uint8Array[][]> {
  const { host, port } = parseAddress(address);
  const recorded: Buffer[] = [];
  const relay = net.createServer((inbound) => {
    const outbound = net.connect(port, host);
    inbound.on("data", (d: Buffer) => {
      recorded.push(Buffer.from(d));
      outbound.write(d);
    });
    outbound.on("data", (d: Buffer) => inbound.write(d));
    inbound.on("close", () => outbound.destroy());
    outbound.on("close", () => inbound.destroy());
    inbound.on("error", () => {});
    outbound.on("error", () => {});
  });
  await new Promise<void>((r) => relay.listen(0, "127.0.0.1", () => r()));
  try {
    const cluster = await Cluster.create({ runners: [`127.0.0.1:${(relay.address() as net.AddressInfo).port}`], token, reconnect: false });
    try {
      await session(cluster);
    } finally {
      await cluster.close();
    }
  } finally {
    relay.close();
  }
  return framesOf(new Uint8Array(Buffer.concat(recorded)));
}

/** The next `n` values of `ch`, taken as they come (fewer if it closes first). */
export async function take<T>(ch: Chan<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  while (out.length < n) {
    const r = await ch.recv();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

/**
 * Runner processes (our CLI) that a test kills and starts again on the same address.
 * Without an address, `start` takes a free port below Linux's ephemeral range (32768-60999):
 * a port from that range, freed by a killed runner, can be taken meanwhile by any outgoing
 * connection, and the restart would find it in use. `stopAll` in afterEach.
 */
export class RestartableRunners {
  private readonly started: CliProcess[] = [];

  constructor(private readonly token: string) {}

  async start(listen?: string): Promise<{ proc: CliProcess; address: string; port: number }> {
    for (let attempt = 0; ; attempt++) {
      const at = listen ?? `127.0.0.1:${20_000 + Math.floor(Math.random() * 12_000)}`;
      const proc = runCli(["runner", "--listen", at, "--threads", "1"], cleanEnv({ STRAND_TOKEN: this.token, STRAND_LOG: "silent" }));
      this.started.push(proc);
      try {
        const [, address, port] = await proc.line(/^listening on (127\.0\.0\.1:(\d+))$/);
        return { proc, address: address!, port: Number(port) };
      } catch (err) {
        if (listen !== undefined || attempt === 5 || !proc.stderr().includes("EADDRINUSE")) throw err;
      }
    }
  }

  async stopAll(): Promise<void> {
    for (const p of this.started.splice(0)) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
      await p.exit;
    }
  }
}

/**
 * Collects garbage (node:v8 --expose-gc) until `done()` holds, at most `rounds` times; each
 * round in a job of its own, since WeakRef.deref() keeps its target alive until its job ends
 * and finalization callbacks run after the collection.
 */
export async function collectUntil(done: () => boolean, rounds = 50): Promise<void> {
  v8.setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  for (let i = 0; i < rounds && !done(); i++) {
    await new Promise((r) => setImmediate(r));
    gc();
    await new Promise((r) => setImmediate(r));
  }
}
