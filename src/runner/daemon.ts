import net from "node:net";
import { BLOCK_POOL_CAP, loadBlockPool, setBlockPoolCap, trimBlockPool } from "../transport/native-pool.ts";
import path from "node:path";
import os from "node:os";
import type { Logger } from "pino";
import { ChannelBrokenError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { optimizeWasmEagerly } from "./wasm/eager-tiering.ts";
import { refuseEarly, serverHandshake } from "../protocol/handshake.ts";
import { HEAD_HEARTBEAT, type HeartbeatOptions } from "../protocol/heartbeat.ts";
import { chanOf, type Member, type RunnerInfo, type RunnerStats } from "../protocol/messages.ts";
import { HealthEndpoint } from "../protocol/health.ts";
import { randomUUID } from "node:crypto";
import { Connection, parseAddress } from "../transport/connection.ts";
import { DEFAULT_MAX_FRAME } from "../transport/frames.ts";
import { loadTls, Tls, type TlsOptions } from "../transport/secure.ts";
import { createServer } from "../transport/server.ts";
import { isLoopback } from "../transport/loopback.ts";
import { CodeCache } from "./code-cache.ts";
import { WasmCompiles } from "./wasm/compile-cache.ts";
import { Executor } from "./executor.ts";
import { ObjectService } from "./object-service.ts";
import { ObjectStore } from "./object-store.ts";
import { SpillDir } from "./spill.ts";
import { collectSoon } from "./gc-hint.ts";
import { Peers } from "./peers.ts";
import { DEFAULT_RUNNER_HEARTBEAT, Session } from "./session.ts";
import type { ChanRelayHandler } from "./lane-registry.ts";
import { encodeSegments } from "../protocol/codec.ts";
import { LANE_COUNTER } from "./thread-messages.ts";
import { ActivityFeed } from "./activity/feed.ts";
import type { MetricsAddress } from "../protocol/metrics/endpoint.ts";
import { RunnerMetrics } from "./metrics/runner-metrics.ts";
import { HeadRegistration } from "./head-registration.ts";
import type { ToolInfo } from "../protocol/exec-wire.ts";
import { execDir } from "./exec/exec-runtime.ts";
import { FileCache } from "./exec/file-cache.ts";
import { FileFetches } from "./exec/file-fetches.ts";
import { detectTools } from "./exec/tools.ts";
import type { BindMode } from "./spmd/binding.ts";

export interface RunnerOptions {
  host?: string;
  port?: number;
  threads?: number;
  /** Threads set aside for actors, started with the first spawn (default: as many as `threads`). */
  actorThreads?: number;
  /** Shared secret; required unless `host` is a loopback address. */
  token?: string | undefined;
  cacheDir?: string;
  maxFrame?: number;
  maxConnections?: number;
  /** The largest bundle accepted from a driver (default 64 MiB). */
  maxCode?: number;
  /** Bytes of objects this runner keeps in memory (default: 30% of the host's memory); over it, it spills to `spillDir`. */
  objectMemory?: number;
  /**
   * Where the object store spills over its budget: this runner writes in a subdirectory of
   * its own (`<host>-<pid>`), removed when it stops, and removes those of dead runners of
   * its host as it starts (default: `strand-spill` in the OS's temporary directory).
   */
  spillDir?: string | undefined;
  /**
   * Goroutines this runner runs at once, at most; more are refused (GoroutineLimitError at
   * the `go` call). Default: no number, only memory (a thread's heap over 90% of its limit).
   */
  maxGoroutines?: number | undefined;
  /** SPMD ranks' threads on a CPU each while their job runs, as mpirun binds (default "core"; "none": unbound). */
  bind?: BindMode | undefined;
  /**
   * TLS on every port of this runner (main, threads, SPMD ranks) and on its connections to
   * other runners: `cert` and `key` required; with `ca`, clients must present a
   * certificate it signed (mutual TLS). Values are PEM text or file paths.
   */
  tls?: TlsOptions | undefined;
  /**
   * Serve Prometheus metrics over HTTP on this address (`host:port`, `:port` or `port`:
   * loopback; `true`: loopback, any port). Off by default. See docs/observability.md.
   */
  metrics?: MetricsAddress | undefined;
  /** How this runner heartbeats its drivers, and how long it tolerates a silent one. */
  heartbeat?: HeartbeatOptions;
  /** A head to register with (host:port), with this runner's token and TLS: drivers of the head find it. */
  join?: string | undefined;
  /**
   * The address drivers dial, as the head tells them (default: the listen address; listening
   * on 0.0.0.0 or ::, our address on the connection to the head, with the listen port).
   */
  advertise?: string | undefined;
  /** `key=value` labels the head passes on to drivers (e.g. `slurm.job=1234`). */
  tags?: string[] | undefined;
  /** With `join`: after this long without the head (ms), `onHeadGone` runs (the CLI drains and exits). */
  headTimeoutMs?: number | undefined;
  onHeadGone?: (() => void) | undefined;
  /** Serve /healthz and /readyz over HTTP here (see protocol/health.ts); off by default. */
  health?: MetricsAddress | undefined;
  /**
   * The tools this runner offers to commands (`cluster.exec`), by name (`go`, `gcc`, `cc`,
   * `clang`; `none`: no tools). Default: every one of those it finds on its PATH.
   */
  tools?: string[] | undefined;
  logger?: Logger;
}

/**
 * Where the tools found are kept: once per user and host, whatever a runner's cache directory
 * (they describe the host's binaries, and runners with fresh cache directories start often).
 */
const toolsCacheFile = (): string => path.join(os.homedir(), ".cache", "strand", "tools.json");

/** Connections a runner (and each of its lanes) accepts at once: one per driver is the norm. */
const DEFAULT_MAX_CONNECTIONS = 256;


/** A runner daemon: accepts driver connections and runs their calls on a thread pool. */
export class RunnerDaemon {
  readonly executor: Executor;
  /** Wasm modules compiled for this runner's threads, once per hash (runner/wasm/). */
  private readonly wasm: WasmCompiles | undefined;
  readonly cache: CodeCache;
  readonly store: ObjectStore;
  /** Where the store spills: this runner's own directory. */
  readonly spill: SpillDir;
  /** Puts, fetches, frees and pulls of the store's objects, for drivers, peer runners and this runner's threads. */
  private readonly objects: ObjectService;
  readonly log: Logger;
  /** This runner's TLS material, read once (undefined: plain TCP). */
  readonly tls: Tls | undefined;
  private readonly peers: Peers;
  /** Files of commands by content, and the fetches of those this runner lacks (runner/exec/). */
  private readonly files: FileCache;
  private readonly fileFetches: FileFetches | undefined;
  /** The tools this runner offers to commands, found as it starts. */
  private tools: ToolInfo[] = [];
  private readonly server: net.Server;
  private readonly sessions = new Set<Session>();
  private readonly owners = new Map<string, Session>();
  private readonly pendingSockets = new Set<net.Socket>();
  /** What this runner did, for the drivers that watch it (T.Watch). */
  private readonly feed: ActivityFeed;
  private calls = 0;
  private channelOpsRelayed = 0;
  private failures = 0;
  private stopping = false;
  address = "";
  /** Set when the runner serves metrics (opts.metrics). */
  private readonly metrics: RunnerMetrics | undefined;
  /** Set when the runner joined a head (opts.join). */
  registration: HeadRegistration | undefined;
  private healthEndpoint: HealthEndpoint | undefined;
  /** This process among the runners a head has known on our address (a restart gets a new one). */
  private readonly memberId = `${process.pid}-${randomUUID().slice(0, 8)}`;

  get maxFrame(): number {
    return this.opts.maxFrame ?? DEFAULT_MAX_FRAME;
  }

  private constructor(private readonly opts: RunnerOptions) {
    this.log = opts.logger ?? createLogger("strand-runner", "info");
    this.tls = opts.tls === undefined ? undefined : new Tls(loadTls(opts.tls));
    this.tls?.serverOptions(); // no certificate: fail before any thread starts
    this.cache = new CodeCache(opts.cacheDir, opts.maxCode);
    this.spill = new SpillDir(opts.spillDir);
    // Dropped buffers are taken back by collections, of this thread and of those its calls ran on.
    // Free pooled blocks (transport/native-pool.ts) are resident memory the store does not
    // count: a share of its budget at most, and let go of as it reclaims (test/object-spill:
    // +262 MiB of RSS over a 64 MiB budget with the pool's default 512 MiB, base +115-125).
    this.store = new ObjectStore(opts.objectMemory, this.spill, () => {
      collectSoon();
      this.executor.lanes?.collectGarbage();
      trimBlockPool();
    });
    setBlockPoolCap(Math.min(BLOCK_POOL_CAP, this.store.limit / 4));
    this.peers = new Peers(opts.token, this.tls, this.maxFrame, this.log);
    this.files = new FileCache(execDir(this.cache.dir));
    this.objects = new ObjectService(this.store, this.peers, this.maxFrame, this.owners, this.files);
    this.executor = new Executor(opts.threads, {
      host: opts.host ?? "127.0.0.1", advertiseHost: advertisedHost(opts), token: opts.token, tls: this.tls?.pem, cacheDir: this.cache.dir, maxFrame: this.maxFrame,
      maxConnections: opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      info: { id: "", threads: opts.threads ?? os.availableParallelism(), pid: process.pid, hostname: os.hostname(), maxFrame: this.maxFrame },
      ...(opts.metrics !== undefined ? { metrics: true } : {}),
      ...(opts.maxGoroutines !== undefined && opts.maxGoroutines > 0 ? { maxGoroutines: opts.maxGoroutines } : {}),
      ...(opts.bind !== undefined ? { bind: opts.bind } : {}),
    }, opts.actorThreads ?? opts.threads);
    this.wasm = this.executor.lanes === undefined ? undefined : new WasmCompiles(this.executor.lanes.channelName);
    this.fileFetches = this.executor.lanes === undefined ? undefined : new FileFetches(this.executor.lanes.channelName, this.files, (holder, id) => this.peers.fetch(holder, id));
    if (opts.metrics !== undefined) {
      const metrics = (this.metrics = new RunnerMetrics(() => ({
        stats: this.stats(), threads: this.executor.threads, storeRefusals: this.store.refused,
        spill: { bytes: this.store.bytesSpilled, batches: this.store.spillBatches, restoredBytes: this.store.bytesRestored },
        sessions: { driver: [...this.sessions].filter((s) => s.isDriver).length, runner: [...this.sessions].filter((s) => !s.isDriver).length },
      }), this.executor.lanes));
      this.executor.metrics = metrics;
      this.peers.onConnection = (conn) => metrics.bytes.track(conn, "runner");
    }
    this.executor.onThreadError = (err) => this.log.warn({ err: err.message }, "worker thread died; replaced");
    // What a batched call printed goes to the driver that sent it (on the connection it came by).
    this.executor.onOutput = (job, fn, stream, lines) => {
      for (const s of this.sessions) if (s.output(job, fn, stream, lines)) return;
    };
    this.executor.lanes?.onChanged((ports) => {
      for (const s of this.sessions) s.announceLanes(ports);
    });
    this.executor.lanes?.onChan(this.chanRelay());
    // Results that lane calls keep, and big channel values: stored here, owned by their driver.
    this.executor.lanes?.onStore((objectId, segments) => this.objects.keepForThread(objectId, segments));
    this.feed = new ActivityFeed({
      stats: () => this.stats(),
      load: () => ({ threads: this.executor.threads, running: this.executor.runningCalls + (this.executor.lanes?.counters[LANE_COUNTER.inFlight] ?? 0) }),
      setRecording: (on, merge) => this.executor.lanes?.setRecording(on, merge),
      flushThreads: () => this.executor.lanes?.flushSpans() ?? Promise.resolve(),
      actors: (timeoutMs) => (this.executor.lanes?.hasActorThreads === true ? this.executor.lanes.actorStats(timeoutMs) : undefined),
    });
    this.peers.feed = this.feed; // runner-to-runner fetches are spans too
    this.executor.lanes?.onSpans((json, count, dropped) => this.feed.addFromThread(json, count, dropped));
    this.executor.lanes?.onGo((driver, frame) => {
      const session = this.owners.get(driver);
      // Its driver left: the goroutine has nobody to start it, nor to hear of its failure.
      if (session === undefined) this.log.warn({ driver }, "go() from a call whose driver is gone: dropped");
      else session.relay(frame);
    });
    this.server = createServer(this.tls, {
      accept: (socket, raw) => this.accept(socket, raw),
      refuse: (socket, reason) => {
        this.log.warn({ peer: `${socket.remoteAddress}:${socket.remotePort}`, reason }, "client refused before the handshake");
        refuseEarly(new Connection(socket), reason);
      },
      tlsError: (reason, peer) => this.log.warn({ peer, reason }, "TLS handshake failed"),
    });
    // From the first byte: a client still in TLS or in our handshake when the runner stops is dropped.
    this.server.on("connection", (raw: net.Socket) => {
      this.pendingSockets.add(raw);
      raw.once("close", () => this.pendingSockets.delete(raw));
    });
    this.server.maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  }

  static async start(opts: RunnerOptions = {}): Promise<RunnerDaemon> {
    const host = opts.host ?? "127.0.0.1";
    if (!isLoopback(host) && (opts.token === undefined || opts.token === "")) {
      throw new Error(`refusing to listen on ${host} without a token: runners execute code (set --token or STRAND_TOKEN)`);
    }
    optimizeWasmEagerly();
    // Big frames (puts, fetched objects) in pooled memory once it is loaded (or built).
    void loadBlockPool();
    const d = new RunnerDaemon(opts);
    // Runners of this host that died (killed: they could not clean up) left spill files behind.
    const stale = await d.spill.cleanStale().catch((err: Error) => {
      d.log.warn({ dir: d.spill.root, err: err.message }, "could not remove the spill files of dead runners");
      return [];
    });
    if (stale.length > 0) d.log.info({ dir: d.spill.root, removed: stale }, "removed the spill files of dead runners");
    // Before the first handshake: drivers learn the tools from it.
    d.tools = await detectTools(opts.tools, d.log, toolsCacheFile());
    await new Promise<void>((resolve, reject) => {
      d.server.once("error", reject);
      d.server.listen(opts.port ?? 7700, host, () => resolve());
    });
    const addr = d.server.address() as net.AddressInfo;
    d.address = `${addr.family === "IPv6" ? `[${addr.address}]` : addr.address}:${addr.port}`;
    try {
      if (opts.metrics !== undefined) await d.metrics!.listen(opts.metrics, { secret: opts.token, log: d.log });
      if (opts.health !== undefined) d.healthEndpoint = await HealthEndpoint.start(opts.health, () => d.notReady());
    } catch (err) {
      await d.close(0);
      throw err;
    }
    if (opts.join !== undefined) {
      d.registration = new HeadRegistration({
        head: opts.join, token: opts.token, tls: d.tls, heartbeat: HEAD_HEARTBEAT, log: d.log,
        member: (localHost) => d.member(localHost),
        headTimeoutMs: opts.headTimeoutMs, onHeadGone: opts.onHeadGone,
      });
    }
    return d;
  }

  /** Where this runner serves /healthz and /readyz (undefined: it does not). */
  get healthAddress(): string | undefined {
    return this.healthEndpoint?.address;
  }

  /** Why this runner should get no work now (readiness), or undefined. */
  private notReady(): string | undefined {
    if (this.stopping) return "draining";
    return undefined;
  }

  /** This runner as its head tells drivers: `localHost` is our end of the connection to the head. */
  private member(localHost: string): Member {
    const port = this.address.slice(this.address.lastIndexOf(":") + 1);
    const listenHost = this.opts.host ?? "127.0.0.1";
    const anyHost = listenHost === "0.0.0.0" || listenHost === "::" || listenHost === "";
    const local = localHost.startsWith("::ffff:") ? localHost.slice(7) : localHost;
    const address = this.opts.advertise ?? (anyHost ? `${local.includes(":") ? `[${local}]` : local}:${port}` : this.address);
    return {
      address, id: this.memberId, threads: this.executor.threads, pid: process.pid, hostname: os.hostname(),
      metrics: this.metrics?.address ?? null, tags: this.opts.tags ?? [],
    };
  }

  /** Where this runner serves Prometheus metrics (undefined: it does not). */
  get metricsAddress(): string | undefined {
    return this.metrics?.address;
  }

  get info(): RunnerInfo {
    return { id: this.address, threads: this.executor.threads, pid: process.pid, hostname: os.hostname(), maxFrame: this.maxFrame, ...(this.tools.length > 0 ? { tools: this.tools } : {}) };
  }

  stats(): RunnerStats {
    const lane = (k: keyof typeof LANE_COUNTER): number => this.executor.lanes?.counters[LANE_COUNTER[k]] ?? 0;
    return {
      calls: this.calls + lane("calls"), failures: this.failures + lane("failures"),
      inFlight: this.executor.inFlight + lane("inFlight"),
      codeFetches: this.cache.fetches, codeBytesReceived: this.cache.bytesReceived, codeLoads: this.executor.loads + lane("loads"), wasmCompiles: this.wasm?.compiles ?? 0,
      cachedModules: this.cache.size, sessions: this.sessions.size, workerRestarts: this.executor.workerRestarts,
      batches: this.executor.batches, batchedCalls: this.executor.batchedJobs,
      objects: this.store.size, objectBytes: this.store.used, objectBytesLimit: this.store.limit,
      objectFetches: this.store.fetches, objectBytesFetched: this.store.bytesFetched, objectsServed: this.store.served,
      objectsSpilled: this.store.onDisk, objectBytesSpilled: this.store.bytesOnDisk, spills: this.store.spills, restores: this.store.restores,
      channelOpsRelayed: this.channelOpsRelayed, goroutines: lane("goroutines"), actorCount: this.executor.actors,
    };
  }

  /**
   * Threads' channel operations go to the channel's home: the driver session whose id
   * prefix the channel carries. Waiting ones are withdrawn there if their thread dies.
   */
  private chanRelay(): ChanRelayHandler {
    const lanes = this.executor.lanes!;
    const waiting = new Map<number, Map<number, { session: Session; opId: number }>>(); // threadId -> request -> op
    /** Takes a big channel value from where it waits (another runner, or our store) for a thread. */
    const takeFor = (threadId: number, request: number, index: number, pointer: [string, string | null]): void => {
      this.objects.takeChanValue(pointer).then(
        (value) => lanes.chanReply(threadId, request, true, index, false, value),
        (err: Error) => lanes.chanReply(threadId, request, false, -1, false, encodeSegments(err, "error")),
      );
    };
    return {
      op: (threadId, request, req, values, pointers) => {
        this.channelOpsRelayed++;
        const chan = chanOf(req);
        const session = this.owners.get(chan.slice(0, chan.lastIndexOf(".")));
        if (session === undefined) {
          const broken = new ChannelBrokenError(chan, "its home driver is not connected to this runner");
          return lanes.chanReply(threadId, request, false, -1, false, encodeSegments(broken, "error"));
        }
        let mine = waiting.get(threadId);
        if (mine === undefined) waiting.set(threadId, (mine = new Map()));
        const ops = mine;
        let answered = false;
        const opId = session.chanOp(req, values, pointers, (ok, index, done, segments, pointer) => {
          answered = true;
          ops.delete(request);
          if (pointer === undefined) return lanes.chanReply(threadId, request, ok, index, done, segments);
          takeFor(threadId, request, index, pointer); // a big value: from the runner that sent it
        });
        if (!answered) ops.set(request, { session, opId });
      },
      take: (threadId, request, pointer) => takeFor(threadId, request, 0, pointer),
      cancel: (threadId, request) => {
        const op = waiting.get(threadId)?.get(request);
        waiting.get(threadId)?.delete(request);
        op?.session.chanCancel(op.opId);
      },
      threadGone: (threadId) => {
        for (const op of waiting.get(threadId)?.values() ?? []) op.session.chanCancel(op.opId);
        waiting.delete(threadId);
      },
    };
  }

  private accept(socket: net.Socket, raw: net.Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    const conn = new Connection(socket, this.maxFrame);
    const peer = conn.remoteAddress;
    serverHandshake(conn, this.opts.token, this.info).then(
      ({ backlog }) => {
        this.pendingSockets.delete(raw);
        if (this.stopping) return conn.destroy();
        const host = {
          executor: this.executor, cache: this.cache, objects: this.objects, owners: this.owners, log: this.log, stats: () => this.stats(), maxFrame: this.maxFrame,
          actorStats: () => this.executor.lanes?.actorStats() ?? Promise.resolve([]),
          feed: this.feed,
          counted: (ok: boolean) => { this.calls++; if (!ok) this.failures++; },
          stopping: () => this.stopping,
        };
        const s = new Session(conn, host, backlog, (x, err) => {
          this.sessions.delete(x);
          if (err === undefined) this.log.info({ peer }, "driver disconnected");
          else this.log.warn({ peer, err: err.message }, "driver connection closed on error");
        }, this.opts.heartbeat ?? DEFAULT_RUNNER_HEARTBEAT);
        this.sessions.add(s);
        this.metrics?.bytes.track(conn, () => (s.isDriver ? "driver" : "runner"));
        s.announceLanes(this.executor.lanes?.lanePorts ?? []);
        this.log.info({ peer }, "driver connected");
      },
      (err: Error) => {
        this.pendingSockets.delete(raw);
        this.log.warn({ peer, err: err.message }, "handshake refused");
      },
    );
  }

  /** Stops accepting, lets in-flight calls finish for up to `graceMs`, then closes everything. */
  async close(graceMs = 10_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    // First of all: drivers that learn of runners from the head stop hearing of this one.
    this.registration?.leave();
    // Drivers stop sending calls here; what they sent meanwhile comes back unrun.
    for (const s of this.sessions) s.draining();
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.pendingSockets) s.destroy();
    // Calls on the main connections and on the threads' lanes finish first; only then do
    // the main connections close (a driver takes that as the runner going away).
    const deadline = performance.now() + graceMs;
    await Promise.all([...this.sessions].map((s) => s.settled(graceMs)).concat(this.executor.lanes?.drain(graceMs) ?? []));
    // Drivers close their side once every call they sent here is answered: then no call
    // can be on its way to a closing connection. Those that do not, within the grace, are
    // closed on.
    const drivers = [...this.sessions].filter((s) => s.isDriver).map((s) => s.gone);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, deadline - performance.now()));
      void Promise.all(drivers).then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    await Promise.all([...this.sessions].map((s) => s.end()));
    for (const s of this.sessions) s.close();
    this.peers.close();
    this.feed.close();
    await closed;
    await this.metrics?.close();
    this.wasm?.close();
    this.fileFetches?.close();
    await this.healthEndpoint?.close();
    await this.executor.close();
    this.store.close(); // and its spill files
  }
}

/** The host drivers and runners dial this runner at: its advertised one, else the one it listens on (a wildcard: its name). */
function advertisedHost(opts: RunnerOptions): string {
  if (opts.advertise !== undefined) return parseAddress(opts.advertise).host;
  const host = opts.host ?? "127.0.0.1";
  return host === "0.0.0.0" || host === "::" || host === "" ? os.hostname() : host;
}
