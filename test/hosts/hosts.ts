import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { Cluster } from "../../src/index.ts";
import type { HeartbeatOptions } from "../../src/protocol/heartbeat.ts";
import { removeDir, tempDir } from "../helpers.ts";
import { cutLink, degradeLink, restoreLink, type Degradation, type LinkCounts, type Undo } from "./link-faults.ts";
import { NsRunner } from "./ns-runner.ts";
import { degradeMethod } from "./support.ts";
import { Topology } from "./topology.ts";

export interface HostsOptions {
  hosts: number;
  /** Worker threads per runner (default 1: four test files share two vCPUs). */
  threads?: number;
}

/**
 * N simulated hosts (network namespaces on a bridge), each running `strand runner` on its
 * own address, and the faults a real network has: a process killed, a cable pulled, a
 * bad link, a runner restarted. The driver side is the test process (root namespace).
 * `heal()` undoes every fault, so one set of hosts serves a whole test file.
 */
export class Hosts {
  private readonly runners: NsRunner[] = [];
  private readonly undo = new Map<number, Undo>();
  private readonly cuts = new Map<number, Promise<void>>();

  private constructor(
    readonly topology: Topology,
    readonly token: string,
    private readonly threads: number,
    private readonly dir: string,
  ) {}

  static async start(opts: HostsOptions): Promise<Hosts> {
    const topology = await Topology.create(opts.hosts);
    const hosts = new Hosts(topology, randomBytes(24).toString("base64url"), opts.threads ?? 1, await tempDir("strand-hosts-"));
    try {
      for (const h of topology.hosts) hosts.runners.push(await hosts.startRunner(h.index));
    } catch (err) {
      await hosts.close();
      throw err;
    }
    return hosts;
  }

  private startRunner(i: number): Promise<NsRunner> {
    const cacheDir = path.join(this.dir, `host-${i}`);
    mkdirSync(cacheDir, { recursive: true });
    return NsRunner.start(this.topology.hosts[i]!, { token: this.token, threads: this.threads, cacheDir });
  }

  get addresses(): string[] {
    return this.runners.map((r) => r.address);
  }

  runner(i: number): NsRunner {
    return this.runners[i]!;
  }

  /** The index of the host whose runner has this pid (as a remote function reports it). */
  indexOfPid(pid: number): number {
    return this.runners.findIndex((r) => r.pid === pid);
  }

  /** A driver in the root namespace, connected to every runner. */
  connect(opts: { heartbeat?: HeartbeatOptions; token?: string | undefined } = {}): Promise<Cluster> {
    return Cluster.create({ runners: this.addresses, token: "token" in opts ? opts.token : this.token, ...(opts.heartbeat ? { heartbeat: opts.heartbeat } : {}) });
  }

  /** kill -9 host i's runner; resolves with the time of the kill (performance.now()). */
  async kill9(i: number): Promise<number> {
    const at = performance.now();
    await this.runners[i]!.kill9();
    return at;
  }

  /** Starts host i's runner again, on the same address, once the old one has exited. */
  async restart(i: number): Promise<void> {
    await this.runners[i]!.kill9();
    this.runners[i] = await this.startRunner(i);
  }

  /** Cuts host i's link now and restores it `ms` later; resolves with the time of the cut. */
  async cut(i: number, ms: number): Promise<{ at: number; restored: Promise<void> }> {
    const h = this.topology.hosts[i]!;
    await cutLink(h);
    const at = performance.now();
    const restored = new Promise<void>((resolve, reject) => {
      setTimeout(() => {
        restoreLink(h).then(resolve, reject);
      }, ms);
    });
    this.cuts.set(i, restored);
    return { at, restored };
  }

  /** Delays and drops host i's packets until `heal()`. */
  async degrade(i: number, d: Degradation): Promise<void> {
    const method = degradeMethod();
    if (typeof method !== "string") throw new Error(method.unavailable);
    this.undo.set(i, await degradeLink(this.topology.hosts[i]!, this.topology.bridge, d, method));
  }

  /** Makes host i's link good again; resolves with what crossed it while it was bad. */
  async undegrade(i: number): Promise<LinkCounts> {
    const undo = this.undo.get(i);
    if (undo === undefined) throw new Error(`host ${i}'s link is not degraded`);
    this.undo.delete(i);
    return undo();
  }

  /** Undoes every fault: links restored, degradations removed, dead runners restarted. */
  async heal(): Promise<void> {
    await Promise.all(this.cuts.values());
    this.cuts.clear();
    for (const undo of this.undo.values()) await undo();
    this.undo.clear();
    for (let i = 0; i < this.runners.length; i++) if (!this.runners[i]!.running) await this.restart(i);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.cuts.values());
    for (const undo of this.undo.values()) await undo().catch(() => {});
    await Promise.all(this.runners.map((r) => r.stop()));
    await this.topology.destroy();
    await removeDir(this.dir);
  }
}
