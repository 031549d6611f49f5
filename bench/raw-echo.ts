// The raw TCP floors shared by rtt.ts, bulk.ts and broadcast.ts: an echo server in a child
// process and a client that writes bytes and waits until as many have come back; a sink
// server and a client that sends bytes one way and waits for the one-byte receipt.
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export interface EchoServer extends AsyncDisposable {
  port: number;
  process: ChildProcess;
}

/**
 * `hop`: the server passes each chunk through a worker thread before echoing it.
 * `inWorker`: the server's sockets live on a worker thread.
 */
export function startEchoServer(opts: { hop?: boolean; inWorker?: boolean } = {}): Promise<EchoServer> {
  return startServer("./fixtures/echo-server.ts", [...(opts.hop === true ? ["--hop"] : []), ...(opts.inWorker === true ? ["--in-worker"] : [])]);
}

/**
 * The one-way floor (bench/bulk.ts, bench/broadcast.ts): a server that receives `u64 length |
 * bytes` straight into its buffer and answers one byte once it has them all. `fresh`: into a
 * new buffer each time. `chunks`: reads in Node's default 64 KiB buffers, each copied into
 * the kept one (the weaker floor used before; reference only). `back`: it answers with the
 * message's bytes instead of one byte, once it has them all (EchoClient.storeAndForward).
 */
export function startSinkServer(opts: { fresh?: boolean; chunks?: boolean; back?: boolean } = {}): Promise<EchoServer> {
  return startServer("./fixtures/sink-server.ts", [
    ...(opts.fresh === true ? ["--fresh"] : []), ...(opts.chunks === true ? ["--chunks"] : []), ...(opts.back === true ? ["--back"] : []),
  ]);
}

/** A fixture server in a child process (tsx), once it prints "listening on <port>". */
/** A TCP connection to 127.0.0.1:port with Nagle off, once connected. */
export function connectLoopback(port: number, onread?: net.OnReadOpts): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1", noDelay: true, ...(onread === undefined ? {} : { onread }) }, () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

export async function startServer(fixture: string, flags: string[]): Promise<EchoServer> {
  const file = fileURLToPath(new URL(fixture, import.meta.url));
  const args = ["--import", import.meta.resolve("tsx"), file, ...flags];
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`echo server exited with code ${code}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const m = /^listening on (\d+)$/.exec(line);
      if (m !== null) resolve(Number(m[1]));
    });
  });
  return {
    port,
    process: child,
    [Symbol.asyncDispose]: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.stdin!.end();
      }),
  };
}

/**
 * One connection to the echo server; one round trip at a time. By default Node reads into
 * fresh 64 KiB buffers and the client copies each into the sink. `inPlace`: the socket reads
 * straight into the sink, where the bytes belong (Node 20's `onread` with a buffer asked for
 * before every read, as a runner and a driver read big frames, src/transport/read-into.ts):
 * no copy and no allocation per read, the strong floor for moving big values (bench/bulk.ts).
 */
export class EchoClient {
  private expected = 0;
  private received = 0;
  private sink: Uint8Array | undefined;
  private done: (() => void) | undefined;
  /** Where in-place reads land when there is no sink (or it is full). */
  private scratch: Uint8Array | undefined;

  private constructor(private readonly socket: net.Socket, inPlace: boolean) {
    if (inPlace) return;
    socket.on("data", (chunk: Buffer) => {
      if (this.sink !== undefined) this.sink.set(chunk, this.received);
      this.arrived(chunk.byteLength);
    });
  }

  private arrived(n: number): void {
    this.received += n;
    if (this.received >= this.expected && this.done !== undefined) {
      const done = this.done;
      this.done = undefined;
      done();
    }
  }

  /** The memory the next in-place read lands in: the rest of the sink. */
  private next(): Uint8Array {
    const sink = this.sink;
    if (sink !== undefined && this.received < sink.byteLength) return sink.subarray(this.received);
    return (this.scratch ??= new Uint8Array(64 * 1024));
  }

  static async connect(port: number, opts: { inPlace?: boolean } = {}): Promise<EchoClient> {
    if (opts.inPlace !== true) return new EchoClient(await connectLoopback(port), false);
    // The socket asks for its first buffer as it is set up, before the client exists.
    const made: { client?: EchoClient } = {};
    const socket = await connectLoopback(port, {
      buffer: () => made.client?.next() ?? new Uint8Array(64 * 1024),
      callback: (n: number) => {
        made.client!.arrived(n);
        return true;
      },
    });
    return (made.client = new EchoClient(socket, true));
  }

  /** Sends `data` and resolves once it has all come back (into `sink` if given). */
  roundTrip(data: Uint8Array, sink?: Uint8Array): Promise<void> {
    this.expected = data.byteLength;
    this.received = 0;
    this.sink = sink;
    const p = new Promise<void>((resolve) => (this.done = resolve));
    this.socket.write(data);
    return p;
  }

  /**
   * To a sink server started with `back`: sends `u64 length | data` and resolves once the
   * server, having received all of it, has sent it all back (into `sink` if given).
   */
  storeAndForward(data: Uint8Array, sink?: Uint8Array): Promise<void> {
    this.expected = data.byteLength;
    this.received = 0;
    this.sink = sink;
    const p = new Promise<void>((resolve) => (this.done = resolve));
    const header = new Uint8Array(8);
    new DataView(header.buffer).setBigUint64(0, BigInt(data.byteLength), true);
    this.socket.cork();
    this.socket.write(header);
    this.socket.write(data);
    this.socket.uncork();
    return p;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** One connection to a sink server; one message at a time. */
export class SinkClient {
  private done: (() => void) | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      for (let i = 0; i < chunk.length; i++) {
        const d = this.done;
        this.done = undefined;
        d?.();
      }
    });
  }

  static async connect(port: number): Promise<SinkClient> {
    return new SinkClient(await connectLoopback(port));
  }

  /** Sends `data` and resolves once the server has all of it in memory. */
  send(data: Uint8Array): Promise<void> {
    const header = new Uint8Array(8);
    new DataView(header.buffer).setBigUint64(0, BigInt(data.byteLength), true);
    const p = new Promise<void>((resolve) => (this.done = resolve));
    this.socket.cork();
    this.socket.write(header);
    this.socket.write(data);
    this.socket.uncork();
    return p;
  }

  close(): void {
    this.socket.destroy();
  }
}
