import { execFileSync } from "node:child_process";
import { runQuietly } from "./exec.ts";

function fails(cmd: string, args: string[]): string | undefined {
  try {
    execFileSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
    return undefined;
  } catch (err) {
    const e = err as Error & { stderr?: string; code?: string };
    return e.code === "ENOENT" ? `${cmd} not found` : (e.stderr?.trim() || e.message);
  }
}

/**
 * Why the multi-host tests cannot run here, or undefined if they can: they need Linux,
 * iproute2 and the right to create network namespaces (root, or CAP_NET_ADMIN + CAP_SYS_ADMIN).
 * Probes by creating (and deleting) a namespace of its own.
 */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== "linux") return "network namespaces need Linux";
  const noIp = fails("ip", ["-V"]);
  if (noIp !== undefined) return `iproute2 is missing (${noIp}): apt-get install iproute2`;
  const probe = `strand-${process.pid}-probe`;
  const denied = fails("ip", ["netns", "add", probe]);
  if (denied !== undefined) return `cannot create network namespaces (${denied}): run as root`;
  runQuietly("ip", ["netns", "del", probe]);
  return undefined;
}

export type DegradeMethod = "netem" | "wire";

let probed: DegradeMethod | { unavailable: string } | undefined;

/**
 * How to delay and drop a link's packets: `tc netem` where the kernel has it; otherwise a
 * user-space wire (test/hosts/wire.py, on AF_PACKET sockets) if python3 is there. Some
 * kernels (this project's CI VMs among them) are built without CONFIG_NET_SCH_NETEM.
 */
export function degradeMethod(): DegradeMethod | { unavailable: string } {
  probed ??= probeDegrade();
  return probed;
}

function probeDegrade(): DegradeMethod | { unavailable: string } {
  const a = `stp${process.pid}a`;
  const b = `stp${process.pid}b`;
  const noVeth = fails("ip", ["link", "add", a, "type", "veth", "peer", "name", b]);
  if (noVeth !== undefined) return { unavailable: `cannot create veth pairs (${noVeth})` };
  try {
    const noNetem = fails("tc", ["qdisc", "add", "dev", a, "root", "netem", "delay", "1ms"]);
    if (noNetem === undefined) return "netem";
    const noPython = fails("python3", ["-c", "import socket; socket.AF_PACKET"]);
    if (noPython === undefined) return "wire";
    return { unavailable: `tc netem is unavailable (${noNetem}) and so is python3 for the user-space wire (${noPython})` };
  } finally {
    runQuietly("ip", ["link", "del", a]);
  }
}
