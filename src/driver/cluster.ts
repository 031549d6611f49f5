import type { Logger } from "pino";
import { AuthError, CancelledError, ClusterClosedError, ImportError, ObjectLostError, RunnerLostError, SerializationError, TimeoutError } from "../errors.ts";
import { DEFAULT_MAX_FRAME, frameHeadLength, frameSize } from "../transport/frames.ts";
import { loadTls, Tls, type TlsOptions } from "../transport/secure.ts";
import { createLogger } from "../log.ts";
import { encodeValue, type Encoded } from "../protocol/codec.ts";
import { BodySlab } from "../protocol/body-slab.ts";
import type { Chan } from "../protocol/chan.ts";
import type { ObjectRef } from "../protocol/object-ref.ts";
import { DEFAULT_HEARTBEAT } from "../protocol/heartbeat.ts";
import type { RunnerStats } from "../protocol/messages.ts";
import { bundle, type Bundle, type ModuleRef } from "./bundle.ts";
import { NO_INPUTS, PendingCall } from "./calls/call.ts";
import { checkRetries, DEFAULT_RETRIES, type CallOptions } from "./calls/call-options.ts";
import { QueuedCall, waitingArgs } from "./calls/queued-call.ts";
import type { ChannelStats } from "../channels/channel-home.ts";
import { Channels } from "./channels/channels.ts";
import { Goroutines, type GoroutineListener } from "./calls/goroutines.ts";
import { ObjectOps } from "./objects/object-ops.ts";
import type { Kept, ObjectEntry } from "./objects/object-entry.ts";
import { ObjectTable } from "./objects/object-table.ts";
import type { Ref } from "./objects/ref.ts";
import { makeRemote, remoteTarget, type Remote } from "./calls/remote.ts";
import type { RemoteActor } from "./calls/remote-actor.ts";
import { Actors, type ActorHost } from "./actors/actors.ts";
import { runJob, type SpmdHost, type SpmdOptions } from "./spmd.ts";
import { isWasmProgram, jobSettings, WASM_ENTRY_EXPORT, wasmEntry } from "./wasm-program.ts";
import { RetryPolicy } from "./calls/retry-policy.ts";
import type { RunnerPort } from "./calls/runner-port.ts";
import { Rejoin } from "./link/rejoin.ts";
import { RunnerLink, type LinkHost } from "./link/runner-link.ts";
import { Scheduler } from "./calls/scheduler.ts";
import { TaskGraph } from "./calls/task-graph.ts";
import type { CallObserver } from "./calls/call.ts";
import { Observers } from "./observe/observers.ts";
import { RunnerWatch, type ActivityListener, type WatchOptions } from "./observe/runner-watch.ts";
import { Progress, type ProgressOptions } from "./observe/progress.ts";
import { DriverMetrics } from "./observe/metrics.ts";
import type { MetricsAddress } from "../protocol/metrics/endpoint.ts";
import { ClusterTrace, traceFileFromEnv } from "./observe/trace/cluster-trace.ts";
import { checkWaitForRunners, DEFAULT_WAIT_FOR_RUNNERS, type LinkOptions } from "./link-options.ts";
import { startDashboard, type Dashboard } from "./dashboard/dashboard.ts";
import { checkDashboard, dashboardOptions, type DashboardOption } from "./dashboard/options.ts";
import { remoteLines } from "./remote-logs.ts";
import { HeadWatch } from "./membership/head-watch.ts";
import { Scaling } from "./scale/scaling.ts";
import type { Scaler } from "./scale/scaler.ts";
import type { AdaptOptions } from "./scale/adapt.ts";
import type { Member, MembersChange } from "../protocol/messages.ts";
import type { ActionHit, ExecAnswer, ExecTask, ToolInfo } from "../protocol/exec-wire.ts";
import { Execs, type ExecHooks, type ExecResult, type ExecRunner, type ExecSpec } from "./builds/exec.ts";
import { EXEC_EXPORT, LOOKUP_EXPORT, execEntry } from "./builds/exec-entry.ts";
import type { Directory, FileRef } from "./builds/file-ref.ts";

export interface ClusterOptions extends LinkOptions, DashboardOption {
  /** Runner addresses, host:port (may be empty with a `head`). */
  runners: readonly string[];
  /** A head (host:port) to learn the runners from, now and as they join and leave. */
  head?: string | undefined;
  token?: string | undefined;
  /** TLS to every runner (main port and lanes): PEM text or file paths, read once. See ConnectOptions.tls. */
  tls?: TlsOptions | undefined;
  logger?: Logger;
  /** Serve this driver's Prometheus metrics at this address (see ConnectOptions.metrics). */
  metrics?: MetricsAddress | undefined;
}

/** Where Prometheus scrapes a cluster: this driver, and the runners local() started with metrics. */
export interface MetricsEndpoints {
  driver: string | undefined;
  runners: string[];
}

const runnerMetrics = new WeakMap<Cluster, string[]>();

/** The metrics addresses of the runners local() started for `cluster`. Internal. */
export function setRunnerMetrics(cluster: Cluster, addresses: string[]): void {
  runnerMetrics.set(cluster, addresses);
}

/**
 * What closing a cluster also stops: a local cluster's runner processes. Kept out of
 * ClusterOptions because only this package starts runners for a cluster it makes.
 */
const stopsOnClose = new WeakMap<Cluster, () => Promise<void>>();

/** `stop` runs once `cluster` has closed its links (local() stops its runners so). Internal. */
export function stopOnClose(cluster: Cluster, stop: () => Promise<void>): void {
  stopsOnClose.set(cluster, stop);
}

/** What `scale()` and `adapt()` delegate to: slurm()'s jobs. Kept out of ClusterOptions like stopOnClose. */
const scalings = new WeakMap<Cluster, Scaling>();

/** `cluster.scale()` and `cluster.adapt()` start and stop runners through `scaler`. Internal. */
export function setScaler(cluster: Cluster, scaler: Scaler, logger: Logger): void {
  scalings.set(cluster, new Scaling(scaler, cluster, logger));
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
  /** `key=value` labels the runner registered with its head (`--tag`); empty without a head. */
  tags: string[];
  /** The tools it offers to commands (`exec`): Go by its GOVERSION, C compilers by binary hash and version. */
  tools: ToolInfo[];
}

/**
 * A runner joined the cluster (a new one from the head, or a lost one back), was lost (its
 * calls were sent elsewhere or failed), or left it (the head said it stopped, and it drained).
 */
export type RunnerEvent =
  | { type: "lost"; address: string; error: RunnerLostError }
  | { type: "left"; address: string }
  | { type: "joined"; address: string; pid: number; threads: number };

export type RunnerListener = (event: RunnerEvent) => void;

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
  /** Sends repeated after a runner, a thread connection or an input was lost. */
  resent: number;
  queued: number;
  codeBytesSent: number;
  modules: ModuleStats[];
  /** Objects this driver owns that are not freed yet, and the bytes of those made so far. */
  objects: number;
  objectBytes: number;
  /** Channels homed here: buffered values, blocked senders and receivers. */
  channels: ChannelStats[];
  /**
   * The actors this driver spawned or holds handles to: where each lives, its restarts and the
   * calls waiting to go to it. Runners report their own (`runnerStats()[i].actors`: mailbox depth).
   */
  actors: { id: string; className: string; name: string | undefined; runner: string | undefined; state: string; restarts: number; owned: boolean; queued: number }[];
  /** Bytes to and from runner threads for the channels they made (used here: sent and received by this driver). */
  channelHomeBytes: { sent: number; received: number };
}

/** A connection to a set of runners: imports modules and runs their functions there. */
export class Cluster implements AsyncDisposable {
  private readonly scheduler: Scheduler;
  /** Closing the cluster closes every link: calls lost that way have nowhere to go. */
  private readonly retryPolicy = new RetryPolicy(() => this.closing === undefined && this.scheduler.willPlace);
  private readonly objects = new ObjectTable();
  private readonly graph: TaskGraph;
  /** Progress, metrics, traces, the dashboard: whatever watches calls (see observe()). */
  private readonly observers: Observers;
  /** Who watches the runners' activity (see watch()). */
  private readonly runnerWatch: RunnerWatch;
  /**
   * Traces for Perfetto: `await cluster.trace.start()`, then `await cluster.trace.stop("out.json")`
   * writes Chrome Trace Event JSON of every call and what the runners did for it.
   */
  readonly trace: ClusterTrace;
  /** STRAND_TRACE (`strand run --trace`): the file this cluster's own trace goes to as it closes. */
  private traceFile: string | undefined;
  private readonly channels = new Channels(this.objects.prefix);
  private readonly data = new ObjectOps(this.objects, (e) => this.graph.whenExists(e), () => this.links, (op) => this.scheduler.whenLive(op));
  private readonly goroutines: Goroutines;
  private readonly actors: Actors;
  private readonly links: RunnerLink[] = [];
  private readonly bundles = new Map<string, Bundle>();
  private readonly modules = new Map<string, ModuleStats & { ref: number }>();
  private readonly log: Logger;
  private readonly runnerListeners = new Set<RunnerListener>();
  private rejoin: Rejoin<RunnerLink> | undefined;
  /** How a link to a runner is opened (token, TLS, heartbeats of this cluster). */
  private openLink: ((address: string) => Promise<RunnerLink>) | undefined;
  /** The head this cluster learns runners from (opts.head). */
  private headWatch: HeadWatch | undefined;
  /** Links being opened to runners the head named, by address. */
  private readonly opening = new Map<string, Promise<void>>();
  /** Tags of the runners the head named, by address. */
  private readonly tags = new Map<string, string[]>();
  /** Runners the head said left: their links closing is a goodbye, not a loss, and not dialled again. */
  private readonly departed = new Set<string>();
  private counts = { calls: 0, succeeded: 0, failed: 0 };
  private closing: Promise<void> | undefined;
  private dashboard: Dashboard | undefined;
  /** Aborted once close() has closed every link: views over calls (progress) end then. */
  private readonly closed = new AbortController();
  /** This driver's Prometheus endpoint, when asked for (opts.metrics). */
  private metrics: DriverMetrics | undefined;
  /** The smallest frame limit among the runners: no call may be bigger. */
  private maxFrame = DEFAULT_MAX_FRAME;
  /** Commands (`exec`, command graphs): their files, action cache and threads (driver/builds/). */
  private readonly execs: Execs;
  /** The built-in exec call's module, bundled on the first command. */
  private execModule: Promise<ModuleRef> | undefined;

  private constructor(private readonly opts: ClusterOptions) {
    this.scheduler = new Scheduler(opts.waitForRunners ?? DEFAULT_WAIT_FOR_RUNNERS, (q) => this.callOf(q));
    this.log = opts.logger ?? createLogger("strand-driver");
    this.goroutines = new Goroutines(this.log);
    this.observers = new Observers(this.log);
    this.runnerWatch = new RunnerWatch(() => this.links, this.log);
    this.trace = new ClusterTrace({
      observe: (o) => this.observe(o),
      watchSpans: (l, intervalMs) => {
        if (this.closing !== undefined) throw new ClusterClosedError("trace");
        return this.runnerWatch.addChunks(l, intervalMs);
      },
      flush: () => this.runnerWatch.flush(),
      measureClocks: async () => {
        await Promise.all(this.links.filter((l) => l.alive).map((l) => l.measureClock()));
      },
      runners: () => this.links.map((l) => ({
        address: l.address, hostname: l.info.hostname, pid: l.info.pid, threads: l.threads, offsetMicros: l.clock?.offsetMicros ?? 0, rttMicros: l.clock?.rttMicros,
      })),
      prefix: this.objects.prefix,
    });
    this.graph = new TaskGraph(this.objects, this.scheduler, this.retryPolicy, this.observers);
    this.actors = new Actors(this.actorHost());
    this.execs = new Execs({
      runners: () => this.links,
      whenLive: () => this.scheduler.whenLive("exec"),
      call: (runner, task) => this.callExec(runner, EXEC_EXPORT, task) as Promise<ExecAnswer>,
      lookup: (runner, keys) => this.callExec(runner, LOOKUP_EXPORT, keys) as Promise<(ActionHit | null)[]>,
      get: (ref) => this.get(ref),
      closed: () => this.closing !== undefined,
    });
  }

  /** What the actors (driver/actors/) need of the cluster's other rooms. */
  private actorHost(): ActorHost {
    return {
      prefix: this.objects.prefix,
      log: this.log,
      runners: () => this.links,
      whenLive: (op) => this.scheduler.whenLive(op),
      closed: () => this.closing !== undefined,
      encode: (args, label) => this.encodeArgs(args, label),
      submitted: (call) => {
        this.counts.calls++;
        this.observers.submitted(call);
      },
      settled: (ok) => {
        if (ok) this.counts.succeeded++;
        else this.counts.failed++;
      },
      arm: (call, options) => this.arm(call, options),
      awaitInputs: (call) => {
        const retry = call.retry;
        this.graph.add(call);
        call.retry = retry; // the actor's policy, not the graph's: its calls go only to it
      },
      keep: (call) => {
        const { ref, entry } = this.objects.create<unknown>(call);
        entry.producer = call;
        call.keep = entry;
        return {
          ref,
          made: (kept) => this.objects.made(entry, call.link!, kept as Kept),
          failed: (e) => this.objects.failed(entry, e),
        };
      },
      inline: async (entry) => {
        const value = await this.data.get(entry);
        const e = encodeValue(value, "an object sent to an actor");
        return [e.body, ...e.attachments];
      },
      goroutine: (label, result) => this.goroutines.start(label, result),
      moduleOf: (hash) => {
        const m = this.modules.get(hash);
        return m === undefined ? undefined : { ref: m.ref, hash };
      },
    };
  }

  static async create(opts: ClusterOptions): Promise<Cluster> {
    if (opts.runners.length === 0 && opts.head === undefined) throw new TypeError("a cluster needs at least one runner address, or a head");
    checkRetries(opts.retries, "cluster options");
    checkWaitForRunners(opts.waitForRunners, "cluster options");
    checkDashboard(dashboardOptions(opts.dashboard), opts.token);
    const c = new Cluster(opts);
    const lines = remoteLines(opts.logs);
    const host: LinkHost = {
      ownerPrefix: c.objects.prefix,
      remoteLines: lines === undefined ? undefined : (link, fn, stream, l) => {
        try {
          lines({ address: link.address, pid: link.info.pid }, fn, stream, l);
        } catch (err) {
          // A `logs` function that throws must not cost the link its runner.
          c.log.error({ runner: link.address, err: (err as Error).message }, "the `logs` function threw");
        }
      },
      chanOp: (peer, opId, req, values, pointers) => c.channels.remote(peer, opId, req, values, pointers),
      chanCancel: (peer, opId) => c.channels.cancel(peer, opId),
      chanReturned: (peer, chan, n) => c.channels.returned(peer, chan, n),
      chanPeerLost: (peer, reason) => c.channels.peerLost(peer, reason),
      actorLaneClosed: (link, port, reason) => c.actors.threadLost(link, port, reason),
      actorState: (actorId, incarnation, state) => c.actors.checkpointed(actorId, incarnation, state),
      gaveChannels: (link, chans) => c.channels.given(link, chans),
      go: (link, hash, exportName, chans, args, lanePort) => c.goFromRunner(link, hash, exportName, chans, args, lanePort),
      codeFor: (hash) => c.bundles.get(hash)?.code,
      slotFreed: (link) => c.scheduler.slotFreed(link),
      lost: (link, err) => {
        // A runner that drained on purpose is not an error: one the head said left, or, in a
        // cluster with a head, one that said it was draining (its Leave may reach the head, and
        // the head's news reach us, after its link closed). The head says so if it comes back.
        const left = c.departed.has(link.address) || (link.draining && c.headWatch !== undefined);
        if (c.closing === undefined) {
          if (left) c.log.info({ runner: link.address }, "runner left");
          else c.log.error({ runner: link.address, err: err.message }, "runner lost");
        }
        c.objects.linkLost(link);
        c.channels.peerLost(link, err.message);
        c.actors.runnerLost(link, err.message);
        c.scheduler.remove(link);
        c.execs.slots.pump();
        c.runnerWatch.lost(link.address);
        if (c.closing !== undefined) return;
        if (left) {
          c.emitRunner({ type: "left", address: link.address });
          // Gone for good (a scheduler reclaimed it): an elastic cluster must not keep every runner it ever had.
          c.dropDead(link.address);
          return;
        }
        c.rejoin?.watch(link.address);
        c.emitRunner({ type: "lost", address: link.address, error: err });
      },
      activity: (runner, at, stats, usage, count, chunks, dropped, flushed) => c.runnerWatch.heard(runner, at, stats, usage, count, chunks, dropped, flushed),
      log: c.log,
    };
    const heartbeat = opts.heartbeat ?? DEFAULT_HEARTBEAT;
    const tls = opts.tls === undefined ? undefined : new Tls(loadTls(opts.tls));
    const open = (address: string): Promise<RunnerLink> => RunnerLink.open(address, opts.token, tls, host, heartbeat);
    c.channels.dialHomes({ token: opts.token, tls, maxFrame: DEFAULT_MAX_FRAME });
    c.openLink = open;
    if (opts.reconnect !== false) {
      c.rejoin = new Rejoin({ open, joined: (address, link) => c.joined(address, link), log: c.log }, opts.reconnect === true ? {} : opts.reconnect);
    }
    const results = await Promise.allSettled(opts.runners.map(open));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    for (const r of results) if (r.status === "fulfilled") c.links.push(r.value);
    if (failed !== undefined) {
      await c.rejoin?.stop();
      await Promise.all(c.links.map((l) => l.close()));
      throw failed.reason;
    }
    for (const l of c.links) c.scheduler.add(l);
    c.maxFrame = c.links.reduce((m, l) => Math.min(m, l.info.maxFrame ?? DEFAULT_MAX_FRAME), DEFAULT_MAX_FRAME);
    if (opts.head !== undefined) {
      try {
        c.headWatch = await HeadWatch.start(opts.head, opts.token, tls, { members: (change, ms) => c.members(change, ms), log: c.log });
        // The runners the head named first are connected before the first call is placed.
        await Promise.all(c.opening.values());
      } catch (err) {
        await c.close();
        throw err;
      }
    }
    const d = dashboardOptions(opts.dashboard);
    if (d !== undefined) {
      try {
        c.dashboard = await startDashboard(c, { ...d, clusterToken: opts.token, self: c.objects.prefix }, c.log);
      } catch (err) {
        await c.close();
        throw err;
      }
      if (d.quiet !== true) process.stderr.write(`${c.dashboard.announcement}\n`);
    }
    if (opts.metrics !== undefined) {
      try {
        c.metrics = await DriverMetrics.start(c, opts.metrics, { secret: opts.token, log: c.log });
      } catch (err) {
        await c.close();
        throw err;
      }
    }
    c.traceFile = traceFileFromEnv();
    if (c.traceFile !== undefined) await c.trace.start();
    return c;
  }

  /** The live dashboard's address, when the cluster serves one (`dashboard` option). */
  get dashboardUrl(): string | undefined {
    return this.dashboard?.url;
  }

  /**
   * The head's news. A runner it names is connected unless it is already (a head that
   * returned names every runner again); one that left is not dialled again once its link
   * closes. A runner the head lost is not dropped here: this driver judges its own links.
   */
  private members(change: MembersChange, members: Member[]): void {
    for (const m of members) {
      if (change === "left") {
        this.departed.add(m.address);
        this.rejoin?.forget(m.address);
        continue;
      }
      if (change === "lost") {
        // Ours is dead too: stop dialling it; the head says so if it registers again.
        if (!this.links.some((l) => l.address === m.address && l.alive)) {
          this.rejoin?.forget(m.address);
          this.dropDead(m.address);
        }
        continue;
      }
      this.tags.set(m.address, m.tags);
      this.departed.delete(m.address);
      this.connectMember(m.address);
    }
  }

  /** Forgets the dead links to `address` (their calls were already failed or sent elsewhere). */
  private dropDead(address: string): void {
    for (let i = this.links.length - 1; i >= 0; i--) if (this.links[i]!.address === address && !this.links[i]!.alive) this.links.splice(i, 1);
    this.tags.delete(address);
  }

  private connectMember(address: string): void {
    if (this.closing !== undefined || this.openLink === undefined || this.opening.has(address)) return;
    if (this.links.some((l) => l.address === address && l.alive)) return;
    const p = this.openLink(address).then(
      (link) => this.joined(address, link),
      (err: Error) => {
        if (this.closing !== undefined) return;
        this.log.warn({ runner: address, err: err.message }, "cannot connect to a runner the head named");
        if (!(err instanceof AuthError)) this.rejoin?.watch(address);
      },
    ).finally(() => this.opening.delete(address));
    this.opening.set(address, p);
  }

  /** A runner answers: a lost one takes its old place, a new one (from the head) a new place; both take new calls. */
  private joined(address: string, link: RunnerLink): void {
    if (this.closing !== undefined || this.links.some((l) => l.address === address && l.alive)) {
      // Closing, or connected meanwhile by the other path (the head named it while it was being redialled).
      void link.close();
      return;
    }
    const old = this.links.findIndex((l) => l.address === address && !l.alive);
    if (old === -1) this.links.push(link);
    else this.links[old] = link;
    // A restarted runner may have been given a smaller frame limit.
    this.maxFrame = Math.min(this.maxFrame, link.info.maxFrame ?? DEFAULT_MAX_FRAME);
    this.log.info({ runner: address, pid: link.info.pid }, old === -1 ? "runner joined" : "runner rejoined");
    this.scheduler.add(link);
    this.execs.slots.pump();
    this.runnerWatch.joined(link);
    this.emitRunner({ type: "joined", address, pid: link.info.pid, threads: link.threads });
  }

  private emitRunner(event: RunnerEvent): void {
    for (const l of this.runnerListeners) {
      try {
        l(event);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, "a \"runner\" listener threw");
      }
    }
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
    return makeRemote<M>(b.module, b.exports, {
      owner: { cluster: this, mod },
      call: (name, args, o) => this.call(mod, name, args, o),
      ref: (name, args, o) => this.callRef(mod, name, args, o),
      go: (name, args) => this.goroutines.start(name, this.call(mod, name, args, undefined)),
      spawn: (name, args, options) => this.actors.spawn(mod, name, args, options),
      getOrSpawn: (name, options, args) => this.actors.getOrSpawn(mod, name, options, args),
    });
  }

  /**
   * A handle to the actor registered as `name` (`spawn.with({ name })`) by any driver of the
   * cluster: ActorNotFoundError if no runner holds one. Import its module first to call it.
   */
  actor<C>(name: string): Promise<RemoteActor<C>> {
    if (this.closing !== undefined) return Promise.reject(new ClusterClosedError("actor"));
    return this.actors.actor(name) as Promise<RemoteActor<C>>;
  }

  /**
   * Runs `f` as an SPMD job (MPI's mpirun): `size` ranks at once, spread over the runners,
   * each finding its communicator with `comm()`. Resolves with every rank's result, in rank
   * order. The first rank to fail aborts the job: the others' pending operations fail with
   * JobAbortedError, and so does this promise (the failed rank's error as its `cause`).
   */
  spmd<A extends unknown[], R>(size: number | SpmdOptions, f: (...args: A) => Promise<R>, ...args: A): Promise<R[]>;
  /**
   * Runs a C program compiled to wasm32-wasi (`strand cc`; a path or file: URL ending in
   * .wasm) as an SPMD job: each rank runs its main with argv = [file name, ...args], MPI
   * calls going over the ranks' communicators. Resolves with every rank's exit status (0);
   * a non-zero exit (WasmExitError), a trap (WasmTrapError), MPI_Abort (MpiAbortError) or an
   * MPI error in any rank aborts the job (JobAbortedError, the rank's error as its cause).
   * `options.wasm`: the program's environment and memory limit.
   */
  spmd(size: number | SpmdOptions, program: string | URL, ...args: (string | number)[]): Promise<number[]>;
  spmd(size: number | SpmdOptions, f: unknown, ...args: unknown[]): Promise<unknown[]> {
    if (this.closing !== undefined) return Promise.reject(new ClusterClosedError("spmd"));
    if (isWasmProgram(f)) return this.spmdWasm(typeof size === "number" ? { size } : size, f, args);
    const target = remoteTarget(f);
    const owner = target?.owner as { cluster?: Cluster; mod?: ModuleRef } | undefined;
    if (target === undefined || owner?.cluster !== this || owner.mod === undefined) {
      return Promise.reject(new TypeError("spmd wants a function imported from this cluster (cluster.import)"));
    }
    const mod = owner.mod;
    const host: SpmdHost = {
      links: () => this.links,
      whenLive: () => this.scheduler.whenLive("spmd"),
      chan: <T>(capacity: number) => this.chan<T>(capacity),
      checkArgs: (a) => {
        if (this.encodeArgs(a, "spmd").deps.length > 0) throw new TypeError("spmd arguments cannot hold Refs: pass the value, or bcast it from one rank");
      },
      callRank: (link, rank, a) => this.callRank(mod, target.exportName, link, rank, a),
      prefix: this.objects.prefix,
    };
    const options = typeof size === "number" ? { size } : size;
    const job = this.observers.startJob(options.size);
    const run = runJob(host, options, args);
    run.then(() => this.observers.endJob(job, undefined), (err: unknown) => this.observers.endJob(job, err as Error));
    return run;
  }

  /** A C program's job: the ranks run the export of a generated entry module (driver/wasm-program.ts). */
  private async spmdWasm(options: SpmdOptions, program: string | URL, args: unknown[]): Promise<number[]> {
    const settings = jobSettings(options.wasm);
    const m = await this.import<Record<string, (...a: unknown[]) => Promise<number>>>(wasmEntry(program));
    const argv = args.map((a) => (typeof a === "string" ? a : typeof a === "number" ? String(a) : JSON.stringify(a)));
    return this.spmd(options, m[WASM_ENTRY_EXPORT]!, settings, ...argv);
  }

  /**
   * `go(f, ...args)` in a remote function running on `link`: started as `m.f.go(...)` would
   * be (a goroutine: no window slot, failures to the "error" event), placed on that runner
   * unless it is busy. The arguments go on as the runner encoded them, channels of any home
   * untouched; only this driver's own are looked at, to count them as given to the runner
   * that takes the goroutine (they break if it dies).
   */
  private goFromRunner(link: RunnerLink, hash: string, exportName: string, chans: readonly (readonly [string, number])[], args: Encoded, lanePort?: number): void {
    if (this.closing !== undefined) return;
    const stats = this.modules.get(hash);
    if (stats === undefined) {
      const err = new ImportError(`go(${exportName}) on runner ${link.address}: its module (bundle ${hash.slice(0, 12)}) was not imported by this driver`);
      this.goroutines.start(exportName, Promise.reject(err));
      return;
    }
    const own = chans.filter(([id]) => id.slice(0, id.lastIndexOf(".")) === this.objects.prefix).map(([id, capacity]) => this.channels.handle(id, capacity));
    const encoded: Encoded = own.length > 0 ? { ...args, chans: own } : args;
    const mod = { ref: stats.ref, hash };
    this.counts.calls++;
    const result = new Promise((resolve, reject) => {
      const call = new PendingCall(mod, exportName, encoded, false,
        (v) => { this.counts.succeeded++; resolve(v); },
        (e) => { this.counts.failed++; reject(e); });
      call.goroutine = true;
      call.preferLane = lanePort;
      this.observers.submitted(call);
      this.scheduler.goFrom(call, link);
    });
    this.goroutines.start(exportName, result);
  }

  /** One rank of a job: a goroutine-like call (it holds channels) pinned to `link`. */
  private callRank(mod: ModuleRef, exportName: string, link: RunnerPort, rank: number, args: unknown[]): Promise<unknown> {
    let encoded: Encoded;
    try {
      ({ encoded } = this.encodeArgs(args, exportName)); // checked by runJob: no Refs
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (!link.alive) return Promise.reject(new RunnerLostError(link.address, "runner is not connected"));
    this.counts.calls++;
    const firstDone = this.firstCallTimer(mod);
    return new Promise((resolve, reject) => {
      const call = new PendingCall(mod, exportName, encoded, false,
        (v) => { this.counts.succeeded++; firstDone?.(); resolve(v); },
        (e) => { this.counts.failed++; reject(e); });
      call.rank = rank;
      this.observers.submitted(call);
      link.send(call);
    });
  }

  /** The built-in exec call (or its action-cache lookup) on `runner`: a call like any other (observers, traces and progress see it). */
  private async callExec(runner: ExecRunner, exportName: string, arg: ExecTask | string[]): Promise<unknown> {
    this.execModule ??= (async () => {
      const entry = execEntry();
      await this.import<Record<string, unknown>>(entry);
      const stats = [...this.modules.values()].find((m) => m.module === entry)!;
      return { ref: stats.ref, hash: stats.hash };
    })();
    const mod = await this.execModule;
    const link = runner as RunnerLink;
    const { encoded } = this.encodeArgs([arg], exportName);
    if (!link.alive) throw new RunnerLostError(link.address, "runner is not connected");
    this.counts.calls++;
    return new Promise((resolve, reject) => {
      const call = new PendingCall(mod, exportName, encoded, false,
        (v) => { this.counts.succeeded++; resolve(v); },
        (e) => { this.counts.failed++; reject(e); });
      this.observers.submitted(call);
      link.send(call);
    });
  }

  /** A file of this machine as a FileRef (SHA-256): nothing is sent until a command on a runner reads it. */
  putFile(file: string): Promise<FileRef> {
    return this.closing === undefined ? this.execs.putFile(file) : Promise.reject(new ClusterClosedError("putFile"));
  }

  /** Bytes as a file for commands (a small generated file): held by this driver until a command's runner needs it. */
  putBytes(bytes: Uint8Array, options: { executable?: boolean } = {}): Promise<FileRef> {
    if (this.closing !== undefined) return Promise.reject(new ClusterClosedError("putBytes"));
    return Promise.resolve(this.execs.putBytes(bytes.slice(), options.executable === true));
  }

  /** A directory's files (recursively; executable bits kept) as FileRefs by relative path. */
  putDir(dir: string): Promise<Directory> {
    return this.closing === undefined ? this.execs.putDir(dir) : Promise.reject(new ClusterClosedError("putDir"));
  }

  /** Writes the file `ref` names to `file` here (from the runner holding it, or this driver's own copy). */
  getFile(ref: FileRef, file: string): Promise<void> {
    return this.closing === undefined ? this.execs.getFile(ref, file) : Promise.reject(new ClusterClosedError("getFile"));
  }

  /**
   * Runs a command on a runner offering its tools, in a fresh sandbox holding its inputs;
   * resolves with its outputs as FileRefs (left on that runner until read), stdout, stderr.
   * A non-zero exit rejects with CommandError (the tail of stderr); an identical command
   * (argv, env, cwd, tools, inputs by content) is answered from the action cache.
   * `hooks` are for command graphs (runGraph).
   */
  exec(spec: ExecSpec, hooks?: ExecHooks): Promise<ExecResult> {
    return this.closing === undefined ? this.execs.exec(spec, hooks) : Promise.reject(new ClusterClosedError("exec"));
  }

  /**
   * Which of these commands an action cache already answers (this driver's memory, or any
   * connected runner's disk: one call per runner for the whole batch, nothing uploaded): each
   * one's result (as exec() would give it, `cached`) if so, else undefined. A later exec() of
   * a hit answers at once, with no call.
   * Command graphs probe level by level before running, so a rebuild by a new driver costs a
   * round trip per level, not one per action.
   */
  /**
   * Readies the connected runners for commands (ships the exec module, opens their caches),
   * so the first command does not wait for that: command graphs call it as they start.
   */
  warmExec(): Promise<void> {
    return this.closing === undefined ? this.execs.warm() : Promise.resolve();
  }

  probe(specs: ExecSpec[]): Promise<(ExecResult | undefined)[]> {
    return this.closing === undefined ? this.execs.probe(specs) : Promise.reject(new ClusterClosedError("probe"));
  }

  /**
   * Commands run on runners, and answered from an action cache (this driver's or a runner's),
   * by this cluster; sent queued ahead on a busy runner, and how often a more urgent command
   * waited behind one of those (see driver/builds/slots.ts).
   */
  get execStats(): { ran: number; cached: number; ahead: number; overtaken: number } {
    return { ran: this.execs.ran, cached: this.execs.cachedHits, ahead: this.execs.slots.stats.ahead, overtaken: this.execs.slots.stats.overtaken };
  }

  /**
   * `"error"`: failures of calls started with `f.go(...)`; without a listener they are logged.
   * `"runner"`: a runner joined (new from the head, or back after a loss: see `reconnect`), was lost, or left (the head said it stopped).
   */
  on(event: "error", listener: GoroutineListener): this;
  on(event: "runner", listener: RunnerListener): this;
  on(event: "error" | "runner", listener: GoroutineListener | RunnerListener): this {
    if (event === "error") this.goroutines.add(listener as GoroutineListener);
    else if (event === "runner") this.runnerListeners.add(listener as RunnerListener);
    else throw new TypeError(`unknown event "${String(event)}"`);
    return this;
  }

  /**
   * Tells `observer` about every call from now on: made, sent to a runner, settled. What
   * progress bars, metrics, traces and the dashboard are built on; returns a function that
   * stops it. Observers run on the call path: keep them cheap.
   */
  observe(observer: CallObserver): () => void {
    return this.observers.add(observer);
  }

  /**
   * Hears every runner's activity every `intervalMs`: its counters, CPU, memory and running
   * calls, and with `spans: true` what ran there and when (every driver's calls, not only
   * this one's). What dashboards, `strand top` and traces read. Returns a function that stops it.
   */
  watch(listener: ActivityListener, options?: WatchOptions): () => void {
    if (this.closing !== undefined) throw new ClusterClosedError("watch");
    return this.runnerWatch.add(listener, options);
  }

  /**
   * Counts of calls from now on (made, done, failed, per function; calls in flight, rate,
   * runners busy): `snapshot()` now, or `for await (const s of cluster.progress())` for a
   * snapshot at most every `intervalMs` (250) while calls move, and a final one when the
   * cluster closes. Breaking out of the loop stops it.
   */
  progress(options?: ProgressOptions): Progress {
    return new Progress({ observe: (o) => this.observers.add(o), runners: () => this.links, closed: this.closed.signal }, options);
  }

  off(event: "error", listener: GoroutineListener): this;
  off(event: "runner", listener: RunnerListener): this;
  off(event: "error" | "runner", listener: GoroutineListener | RunnerListener): this {
    if (event === "error") this.goroutines.remove(listener as GoroutineListener);
    else if (event === "runner") this.runnerListeners.delete(listener as RunnerListener);
    return this;
  }

  /** Encodes arguments and finds the objects their Refs stand for; throws at the call site. */
  /**
   * Where plain calls' small encoded arguments are kept until sent (body-slab.ts). Not for
   * `f.ref()` calls: lineage keeps their arguments, which would keep a whole slab alive.
   */
  private readonly argSlab = new BodySlab();
  /**
   * Where `f.ref()` calls' small encoded arguments are kept, for the life of their lineage:
   * small slabs, so that a lineage kept alive keeps at most 4 KiB with it. A buffer of their
   * own each was the largest allocation of building a graph (~270 bytes per call, a Buffer
   * and its ArrayBuffer for ~40 bytes of arguments, bench/dag.ts), all of it held for the
   * graph's life, so copied by every scavenge.
   */
  private readonly lineageSlab = new BodySlab(256, 4096);

  private encodeArgs(args: unknown[], exportName: string, slab?: BodySlab): { encoded: Encoded; deps: readonly ObjectEntry[] } {
    if (this.closing !== undefined) throw new ClusterClosedError(exportName);
    // No copies of the encoding or of its segment list, and one array of inputs for every
    // call that has none: a burst holds every call's arguments at once (decisions.md).
    let encoded = encodeValue(args, "args", slab);
    const { refs } = encoded;
    // Lineage must not keep Refs alive. A copy without the field rather than the field set
    // to undefined: the encoding of every f.ref() lives as long as its lineage, and an
    // emptied field kept an out-of-object property array (40 bytes) with it.
    if (refs !== undefined) encoded = withoutRefs(encoded);
    const size = (encoded.attachments.length === 0 ? frameHeadLength(1) + encoded.body.byteLength : frameSize([encoded.body, ...encoded.attachments])) + 64; // + header
    if (size > this.maxFrame) {
      throw new SerializationError("args", `are ${size} bytes encoded, over the runners' ${this.maxFrame}-byte frame limit`);
    }
    return { encoded, deps: refs === undefined ? NO_INPUTS : refs.map((r) => this.entryOf(r, "args")) };
  }

  private entryOf(ref: ObjectRef, path: string): ObjectEntry {
    const e = this.objects.entryOf(ref);
    if (e === undefined) throw new SerializationError(path, `holds ${String(ref)}, which belongs to another cluster`);
    if (e.released) throw new ObjectLostError(e.id, "released before this call");
    return e;
  }

  private call(mod: ModuleRef, exportName: string, args: unknown[], options: CallOptions | undefined): Promise<unknown> {
    // A plain call that would only wait behind others waits as a QueuedCall, its PendingCall
    // made as it is sent (queued-call.ts): unless something watches calls being made, or the
    // module's first call is still to be timed.
    if (options === undefined && this.scheduler.queueing && this.observers.size === 0 && this.closing === undefined) {
      const waiting = waitingArgs(args);
      if (waiting !== undefined && this.modules.get(mod.hash)?.firstCallMs !== undefined) {
        this.counts.calls++;
        return new Promise((resolve, reject) => {
          this.scheduler.submitQueued(new QueuedCall(mod, exportName, waiting, resolve, reject, performance.now()));
        });
      }
    }
    let encoded: Encoded;
    let deps: readonly ObjectEntry[];
    try {
      checkRetries(options?.retries, exportName);
      ({ encoded, deps } = this.encodeArgs(args, exportName, this.argSlab));
    } catch (err) {
      return Promise.reject(err as Error);
    }
    this.counts.calls++;
    const firstDone = this.firstCallTimer(mod);
    return new Promise((resolve, reject) => {
      // The promise's own resolve and reject, not wrappers: a burst of 100,000 calls holds
      // every one of them at once, and each closure less is heap the first burst's GC
      // need not copy (the call counts itself: `counts`).
      const call = new PendingCall(mod, exportName, encoded, options !== undefined && (options.timeout !== undefined || options.signal !== undefined),
        firstDone === undefined ? resolve : (v) => {
          firstDone();
          resolve(v);
        },
        reject,
        deps);
      call.counts = this.counts;
      call.retries = options?.retries ?? this.defaultRetries;
      this.actors.pin(call, encoded.actors);
      this.observers.submitted(call);
      if (options !== undefined) this.arm(call, options);
      if (call.settled) return;
      if (deps.length > 0) return this.graph.add(call);
      call.retry = this.retryPlain;
      this.scheduler.submit(call);
    });
  }

  /** A QueuedCall's PendingCall, as the scheduler sends it: what call() makes, later. */
  private callOf(q: QueuedCall): PendingCall {
    // Its arguments are primitives, few and short (waitingArgs): their encoding cannot fail
    // nor reach the frame limit, and nothing in them can have changed meanwhile.
    const call = new PendingCall(q.module, q.exportName, encodeValue(q.args, "args", this.argSlab), false, q.resolve, q.reject);
    call.counts = this.counts;
    call.retries = this.defaultRetries;
    call.retry = this.retryPlain;
    this.observers.submitted(call, q.submittedAt);
    return call;
  }

  /** A plain call's retry policy: one function for every call, not a closure each. */
  private readonly retryPlain = (e: Error, call: PendingCall): Error | undefined =>
    this.retryPolicy.take(call, e, () => this.scheduler.resubmit(call));

  /** Times a call is sent again after its runner was lost, unless it says otherwise. */
  private get defaultRetries(): number {
    return this.opts.retries ?? DEFAULT_RETRIES;
  }

  /** While a module has not been called yet: what to run when this call succeeds (records firstCallMs). */
  private firstCallTimer(mod: ModuleRef): (() => void) | undefined {
    const stats = this.modules.get(mod.hash);
    if (stats === undefined || stats.firstCallMs !== undefined) return undefined;
    const t0 = performance.now();
    return () => {
      if (stats.firstCallMs !== undefined) return;
      stats.firstCallMs = performance.now() - t0;
      this.log.debug({ module: stats.module, firstCallMs: Math.round(stats.firstCallMs) }, "first call done");
    };
  }

  /**
   * `f.ref(...)`: runs the call and keeps its result on the runner that made it. The Ref
   * is returned at once; calls given it wait for the result. A failure reaches whoever
   * reads the Ref (`get`, or a call given it).
   */
  // An f.ref() call's settlement, one function each for every such call (closures per call
  // were garbage of every f.ref()). They name the entry through the call, never the Ref: the
  // entry keeps its task (the call) for lineage, and a path from the entry back to the Ref
  // would keep the Ref from ever being collected, and with it the entry.
  private readonly keptMade = (kept: unknown, call: PendingCall): void => {
    this.counts.succeeded++;
    this.objects.made(call.keep!, call.link!, kept as Kept);
  };

  private readonly keptFailed = (e: Error, call: PendingCall): void => {
    this.counts.failed++;
    this.objects.failed(call.keep!, e);
  };

  private callRef(mod: ModuleRef, exportName: string, args: unknown[], options: CallOptions | undefined): Ref<unknown> {
    const { encoded, deps } = this.encodeArgs(args, exportName, this.lineageSlab);
    this.counts.calls++;
    const call = new PendingCall(mod, exportName, encoded, options !== undefined && (options.timeout !== undefined || options.signal !== undefined),
      this.keptMade, this.keptFailed, deps);
    call.retries = options?.retries ?? this.defaultRetries;
    const made = this.objects.create<unknown>(call);
    const entry = made.entry;
    entry.producer = call;
    call.keep = entry;
    this.actors.pin(call, encoded.actors);
    this.observers.submitted(call);
    if (options !== undefined) this.arm(call, options);
    if (!call.settled) this.graph.add(call);
    return made.ref;
  }

  /**
   * A Go channel homed in this driver: `capacity` 0 (the default) is unbuffered. Pass it to
   * remote functions, inside arguments or over other channels; use it the same way there.
   */
  chan<T>(capacity = 0): Chan<T> {
    if (this.closing !== undefined) throw new ClusterClosedError("chan");
    return this.channels.create<T>(capacity);
  }

  /** Stores a value in the cluster once; pass the Ref to calls instead of the value. */
  put<T>(value: T): Promise<Ref<T>> {
    return this.closing === undefined ? this.data.put(value) : Promise.reject(new ClusterClosedError("put"));
  }

  /** Stores a value on every runner: sent once, then copied runner to runner along a tree. */
  broadcast<T>(value: T): Promise<Ref<T>> {
    return this.closing === undefined ? this.data.broadcast(value) : Promise.reject(new ClusterClosedError("broadcast"));
  }

  /** The value of an object: waits for it to be made, remakes it if its runners died. */
  get<T>(ref: Ref<T>): Promise<T> {
    // Not async: one promise per get rather than two (a graph's every Ref may be read).
    try {
      if (this.closing !== undefined) throw new ClusterClosedError("get");
      return this.data.get(this.entryOf(ref, "ref")) as Promise<T>;
    } catch (err) {
      return Promise.reject(err as Error);
    }
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


  /**
   * Wants `n` runners (runner jobs) in all: submits the missing ones, or cancels the idlest,
   * whose calls finish or go elsewhere. Stops adapt(). Only clusters that start their own
   * runners scale (`slurm()`); resolves once the jobs are submitted or cancelled.
   */
  scale(n: number): Promise<void> {
    try {
      return this.scaling("scale").scale(n);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /**
   * Keeps between `min` and `max` runner jobs by the calls waiting and running: more at
   * once when calls wait, fewer once the work has stayed lower for a few rounds. Until
   * scale() or another adapt().
   */
  adapt(options: AdaptOptions): void {
    this.scaling("adapt").adapt(options);
  }

  private scaling(operation: string): Scaling {
    if (this.closing !== undefined) throw new ClusterClosedError(operation);
    const s = scalings.get(this);
    if (s === undefined) throw new TypeError(`${operation}(): this cluster does not start its own runners (slurm() clusters do)`);
    return s;
  }

  /** The runners and their load, as the driver sees them. */
  get runners(): RunnerStatus[] {
    return this.links.map((l) => ({
      address: l.address, threads: l.threads, inFlight: l.inFlight, alive: l.alive, pid: l.info.pid, hostname: l.info.hostname,
      lanes: l.lanePorts, bytesSent: l.traffic.sent, bytesReceived: l.traffic.received, tags: this.tags.get(l.address) ?? [],
      tools: [...(l.info.tools ?? [])],
    }));
  }

  get stats(): ClusterStats {
    return {
      ...this.counts,
      resent: this.retryPolicy.resent,
      queued: this.scheduler.queued,
      codeBytesSent: this.links.reduce((s, l) => s + l.codeBytesSent, 0),
      modules: [...this.modules.values()].map(({ ref: _ref, ...m }) => m),
      objects: this.objects.count,
      objectBytes: this.objects.bytes,
      channels: this.channels.stats(),
      channelHomeBytes: this.channels.homeTraffic,
      actors: this.actors.list(),
    };
  }

  /** Where Prometheus scrapes this cluster (docs/observability.md): undefined and [] without `metrics`. */
  get metricsEndpoints(): MetricsEndpoints {
    return { driver: this.metrics?.address, runners: [...(runnerMetrics.get(this) ?? [])] };
  }

  /** Asks every live runner for its own counters (calls, code fetches, module loads...). */
  runnerStats(): Promise<(RunnerStats & { address: string })[]> {
    return Promise.all(this.links.filter((l) => l.alive).map(async (l) => ({ address: l.address, ...(await l.stats()) })));
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      scalings.get(this)?.stop();
      await this.dashboard?.close();
      await this.metrics?.close();
      if (this.traceFile !== undefined && this.trace.active) {
        await this.trace.stop(this.traceFile).catch((err: unknown) => this.log.error({ err: (err as Error).message, file: this.traceFile }, "could not write the trace"));
      }
      this.channels.closeAll("its cluster was closed");
      this.actors.close();
      try {
        this.headWatch?.stop();
        await this.rejoin?.stop();
        await Promise.allSettled(this.opening.values());
        // Calls not sent yet, and whatever waits for a runner, fail with ClusterClosedError:
        // nothing was lost, and no runner will come.
        this.scheduler.close();
        this.execs.slots.fail(new ClusterClosedError("exec"));
        this.execs.close();
        await Promise.all(this.links.map((l) => l.close()));
      } finally {
        this.closed.abort();
      }
      await stopsOnClose.get(this)?.();
    })();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** An encoding without its Refs (kept for lineage): the fields it has, in one shape. */
function withoutRefs(e: Encoded): Encoded {
  const out: Encoded = { body: e.body, attachments: e.attachments };
  if (e.chans !== undefined) out.chans = e.chans;
  if (e.actors !== undefined) out.actors = e.actors;
  return out;
}
