import { closeSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { run, runQuietly } from "./exec.ts";
import { onExit } from "./exit-cleanup.ts";

/** One simulated host: a network namespace joined to the bridge by a veth pair. */
export interface HostNet {
  index: number;
  /** The namespace's name (`strand-<pid>-<i>`). */
  ns: string;
  /** The veth end in the root namespace, a port of the bridge: cut or degrade this one. */
  veth: string;
  /** The host's address (on `eth0` inside the namespace). */
  ip: string;
}

const pid = process.pid;

/** Whether a process is still running (a lock or a namespace of a dead one is stale). */
function alive(p: number): boolean {
  try {
    process.kill(p, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes what an earlier run's harness left behind when it was SIGKILLed before its
 * cleanup ran: only names this harness makes (`strand-<pid>-…`, `strandbr<pid>`), and only
 * those whose process is gone.
 */
async function sweepStale(): Promise<void> {
  const stale = (name: string, re: RegExp): boolean => {
    const m = re.exec(name);
    return m !== null && Number(m[1]) !== pid && !alive(Number(m[1]));
  };
  for (const line of (await run("ip", ["netns", "list"])).split("\n")) {
    const name = line.split(" ")[0] ?? "";
    if (stale(name, /^strand-(\d+)-/)) runQuietly("ip", ["netns", "del", name]);
  }
  for (const line of (await run("ip", ["-o", "link", "show"])).split("\n")) {
    const name = /^\d+: ([^:@]+)/.exec(line)?.[1] ?? "";
    if (stale(name, /^strandbr(\d+)$/) || stale(name, /^s[vwn](\d+)-\d+$/)) runQuietly("ip", ["link", "del", name]);
  }
  for (const name of readdirSync(os.tmpdir()).filter((f) => /^strand-netns-10\.77\.\d+\.lock$/.test(f))) {
    const lock = path.join(os.tmpdir(), name);
    let owner = "";
    try {
      owner = readFileSync(lock, "utf8");
    } catch {
      continue; // released meanwhile
    }
    if (stale(`owner ${owner}`, /^owner (\d+)$/)) rmSync(lock, { force: true });
  }
}

/**
 * Claims a /24 under 10.77.0.0/16 for this process: not on any interface, and locked
 * against other test processes starting at the same moment (a lock file created with
 * O_EXCL; a lock whose process died is taken over). Starts from the pid so that
 * concurrent test files rarely even compete.
 */
async function claimSubnet(): Promise<{ k: number; release: () => void }> {
  const inUse = await run("ip", ["-o", "-4", "addr", "show"]);
  for (let j = 0; j < 250; j++) {
    const k = 1 + ((pid + j) % 250);
    if (inUse.includes(` 10.77.${k}.`)) continue;
    const lock = path.join(os.tmpdir(), `strand-netns-10.77.${k}.lock`);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(lock, "wx");
        writeSync(fd, String(pid));
        closeSync(fd);
        return { k, release: () => rmSync(lock, { force: true }) };
      } catch {
        const owner = Number(readFileSync(lock, { encoding: "utf8", flag: "a+" }) || "0");
        if (owner === 0 || alive(owner)) break;
        rmSync(lock, { force: true }); // its process died: take it over
      }
    }
  }
  throw new Error("no free 10.77.x.0/24 subnet for the test hosts");
}

/**
 * N network namespaces on a bridge of their own, as N hosts on one LAN:
 *
 *   root namespace: bridge strandbr<pid> 10.77.k.1/24 ── sv<pid>-i ═veth═ eth0 10.77.k.(10+i) : namespace strand-<pid>-i
 *
 * The driver runs in the root namespace and reaches every host through the bridge; the hosts
 * reach each other through it too. Everything is created here and removed by `destroy()`, or
 * at process exit if the test never got there; no other interface is touched.
 */
export class Topology {
  private readonly exitGuard: { release(): void };

  private constructor(
    readonly subnet: number,
    readonly bridge: string,
    readonly hosts: HostNet[],
    private readonly releaseSubnet: () => void,
  ) {
    this.exitGuard = onExit(() => this.destroySync());
  }

  get gateway(): string {
    return `10.77.${this.subnet}.1`;
  }

  static async create(n: number): Promise<Topology> {
    await sweepStale();
    const { k, release } = await claimSubnet();
    const bridge = `strandbr${pid}`;
    const hosts = Array.from({ length: n }, (_, i): HostNet => ({ index: i, ns: `strand-${pid}-${i}`, veth: `sv${pid}-${i}`, ip: `10.77.${k}.${10 + i}` }));
    const top = new Topology(k, bridge, hosts, release);
    try {
      await run("ip", ["link", "add", bridge, "type", "bridge"]);
      await run("ip", ["addr", "add", `${top.gateway}/24`, "dev", bridge]);
      await run("ip", ["link", "set", bridge, "up"]);
      await Promise.all(hosts.map((h) => top.addHost(h)));
    } catch (err) {
      await top.destroy();
      throw err;
    }
    return top;
  }

  private async addHost(h: HostNet): Promise<void> {
    const inner = `sn${pid}-${h.index}`;
    await run("ip", ["netns", "add", h.ns]);
    await run("ip", ["link", "add", h.veth, "type", "veth", "peer", "name", inner]);
    await run("ip", ["link", "set", inner, "netns", h.ns]);
    const inNs = (...args: string[]): Promise<string> => run("ip", ["-n", h.ns, ...args]);
    await inNs("link", "set", inner, "name", "eth0");
    await inNs("addr", "add", `${h.ip}/24`, "dev", "eth0");
    await inNs("link", "set", "eth0", "up");
    await inNs("link", "set", "lo", "up");
    await run("ip", ["link", "set", h.veth, "master", this.bridge]);
    await run("ip", ["link", "set", h.veth, "up"]);
  }

  /** Deletes the hosts' namespaces, the veths and the bridge. Processes must be stopped first. */
  async destroy(): Promise<void> {
    this.destroySync();
  }

  private destroySync(): void {
    this.exitGuard.release();
    for (const h of this.hosts) {
      runQuietly("ip", ["link", "del", h.veth]); // deletes its peer too, wherever it is
      runQuietly("ip", ["netns", "del", h.ns]);
    }
    runQuietly("ip", ["link", "del", this.bridge]);
    this.releaseSubnet();
  }
}
