import type { Logger } from "pino";
import { CancelledError, RunnerLostError, SerializationError, TimeoutError } from "../errors.ts";
import { DEFAULT_MAX_FRAME, frameSize } from "../transport/frames.ts";
import { createLogger } from "../log.ts";
import { encodeValue } from "../protocol/codec.ts";
import { DEFAULT_HEARTBEAT, type HeartbeatOptions } from "../protocol/heartbeat.ts";
import type { RunnerStats } from "../protocol/messages.ts";
import { bundle, type Bundle } from "./bundle.ts";
import { PendingCall, type CallOptions, type ModuleRef } from "./call.ts";
import { makeRemote, type Remote } from "./remote.ts";
import { RunnerLink, type LinkHost } from "./runner-link.ts";
import { Scheduler } from "./scheduler.ts";

export interface ClusterOptions {
  /** Runner addresses, host:port. */
  runners: readonly string[];
  token?: string | undefined;
  heartbeat?: HeartbeatOptions;
  logger?: Logger;
  /** Called after the links close (a local cluster stops its processes here). */
  onClose?: () => Promise<void>;
}

export interface ImportOptions {
  /** Packages to load from the runner's own node_modules instead of bundling them. */
  external?: string[];
}

export interface RunnerStatus {
  address: string;
  threads: number;
  inFlight: number;
  alive: boolean;
  pid: number;
  hostname: string;
  /** Ports of the runner's threads this driver is connected to directly (lanes). */
  lanes: number[];
  /** Bytes this driver has sent to and received from the runner. */
  bytesSent: number;
  bytesReceived: number;
}

export interface ModuleStats {
  module: string;
  hash: string;
  bundleBytes: number;
  buildMs: number;
  /** Milliseconds from the first call to its result, including any code fetch. */
  firstCallMs: number | undefined;
}

export interface ClusterStats {
  calls: number;
  succeeded: number;
  failed: number;
  queued: number;
  codeBytesSent: number;
  modules: ModuleStats[];
}

/** A connection to a set of runners: imports modules and runs their functions there. */
export class Cluster implements AsyncDisposable {
  private readonly scheduler = new Scheduler();
  private readonly links: RunnerLink[] = [];
  private readonly bundles = new Map<string, Bundle>();
  private readonly modules = new Map<string, ModuleStats & { ref: number }>();
  private readonly log: Logger;
  private counts = { calls: 0, succeeded: 0, failed: 0 };
  private closing: Promise<void> | undefined;
  /** The smallest frame limit among the runners: no call may be bigger. */
  private maxFrame = DEFAULT_MAX_FRAME;

  private constructor(private readonly opts: ClusterOptions) {
    this.log = opts.logger ?? createLogger("strand-driver");
  }

  static async create(opts: ClusterOptions): Promise<Cluster> {
    if (opts.runners.length === 0) throw new TypeError("a cluster needs at least one runner address");
    const c = new Cluster(opts);
    const host: LinkHost = {
      codeFor: (hash) => c.bundles.get(hash)?.code,
      slotFreed: (link) => c.scheduler.slotFreed(link),
      lost: (link, err) => {
        if (c.closing === undefined) c.log.error({ runner: link.address, err: err.message }, "runner lost");
        c.scheduler.remove(link);
      },
      log: c.log,
    };
    const heartbeat = opts.heartbeat ?? DEFAULT_HEARTBEAT;
    const results = await Promise.allSettled(opts.runners.map((a) => RunnerLink.open(a, opts.token, host, heartbeat)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    for (const r of results) if (r.status === "fulfilled") c.links.push(r.value);
    if (failed !== undefined) {
      await Promise.all(c.links.map((l) => l.close()));
      await opts.onClose?.();
      throw failed.reason;
    }
    for (const l of c.links) c.scheduler.add(l);
    c.maxFrame = c.links.reduce((m, l) => Math.min(m, l.info.maxFrame ?? DEFAULT_MAX_FRAME), DEFAULT_MAX_FRAME);
    return c;
  }

  /**
   * Bundles a module (and its local imports) and returns its exported functions as
   * remote functions. Runners fetch the code by hash on first use and cache it.
   */
  async import<M>(pathOrUrl: string | URL, options: ImportOptions = {}): Promise<Remote<M>> {
    const b = await bundle(pathOrUrl, options.external);
    this.bundles.set(b.hash, b);
    if (!this.modules.has(b.hash)) {
      const ref = this.modules.size + 1;
      this.modules.set(b.hash, { ref, module: b.module, hash: b.hash, bundleBytes: b.code.byteLength, buildMs: b.buildMs, firstCallMs: undefined });
    }
    const mod = { ref: this.modules.get(b.hash)!.ref, hash: b.hash };
    this.log.debug({ module: b.module, hash: b.hash.slice(0, 12), bytes: b.code.byteLength, buildMs: Math.round(b.buildMs) }, "bundled");
    return makeRemote<M>(b.module, b.exports, (name, args, o) => this.call(mod, name, args, o));
  }

  private call(mod: ModuleRef, exportName: string, args: unknown[], options: CallOptions | undefined): Promise<unknown> {
    if (this.closing !== undefined) return Promise.reject(new RunnerLostError("(all)", "cluster is closed"));
    let encoded;
    try {
      encoded = encodeValue(args, "args");
      const size = frameSize([encoded.body, ...encoded.attachments]) + 64; // + header
      if (size > this.maxFrame) {
        throw new SerializationError("args", `are ${size} bytes encoded, over the runners' ${this.maxFrame}-byte frame limit`);
      }
    } catch (err) {
      return Promise.reject(err as Error);
    }
    this.counts.calls++;
    const stats = this.modules.get(mod.hash);
    const first = stats !== undefined && stats.firstCallMs === undefined ? performance.now() : undefined;
    return new Promise((resolve, reject) => {
      const call = new PendingCall(mod, exportName, encoded, options !== undefined && (options.timeout !== undefined || options.signal !== undefined),
        (v) => {
          this.counts.succeeded++;
          if (first !== undefined && stats!.firstCallMs === undefined) {
            stats!.firstCallMs = performance.now() - first;
            this.log.debug({ module: stats!.module, firstCallMs: Math.round(stats!.firstCallMs) }, "first call done");
          }
          resolve(v);
        },
        (e) => {
          this.counts.failed++;
          reject(e);
        });
      if (options !== undefined) this.arm(call, options);
      if (!call.settled) this.scheduler.submit(call);
    });
  }

  /** Wires a call's timeout and signal: either fails it locally and stops it remotely. */
  private arm(call: PendingCall, { timeout, signal }: CallOptions): void {
    const stop = (err: Error): void => {
      if (call.settled) return;
      call.reject(err);
      this.scheduler.withdraw(call);
      call.link?.cancel(call);
    };
    if (signal?.aborted) return stop(new CancelledError(`${call.exportName} cancelled before it started`, { cause: signal.reason }));
    const timer = timeout === undefined ? undefined : setTimeout(() => stop(new TimeoutError(call.exportName, timeout)), timeout);
    const onAbort = (): void => stop(new CancelledError(`${call.exportName} cancelled`, { cause: signal?.reason }));
    signal?.addEventListener("abort", onAbort, { once: true });
    call.onSettle(() => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    });
  }


  /** The runners and their load, as the driver sees them. */
  get runners(): RunnerStatus[] {
    return this.links.map((l) => ({
      address: l.address, threads: l.threads, inFlight: l.inFlight, alive: l.alive, pid: l.info.pid, hostname: l.info.hostname,
      lanes: l.lanePorts, bytesSent: l.traffic.sent, bytesReceived: l.traffic.received,
    }));
  }

  get stats(): ClusterStats {
    return {
      ...this.counts,
      queued: this.scheduler.queued,
      codeBytesSent: this.links.reduce((s, l) => s + l.codeBytesSent, 0),
      modules: [...this.modules.values()].map(({ ref: _ref, ...m }) => m),
    };
  }

  /** Asks every live runner for its own counters (calls, code fetches, module loads...). */
  runnerStats(): Promise<(RunnerStats & { address: string })[]> {
    return Promise.all(this.links.filter((l) => l.alive).map(async (l) => ({ address: l.address, ...(await l.stats()) })));
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all(this.links.map((l) => l.close()));
      await this.opts.onClose?.();
    })();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
