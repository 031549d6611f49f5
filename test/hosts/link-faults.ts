import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { exited } from "../helpers.ts";
import { run, runQuietly } from "./exec.ts";
import { onExit } from "./exit-cleanup.ts";
import type { DegradeMethod } from "./support.ts";
import type { HostNet } from "./topology.ts";

/** Pulls a host's cable: its veth goes down, so nothing crosses in either direction. */
export async function cutLink(h: HostNet): Promise<void> {
  await run("ip", ["link", "set", h.veth, "down"]);
}

export async function restoreLink(h: HostNet): Promise<void> {
  await run("ip", ["link", "set", h.veth, "up"]);
}

/** Packets the bad link let through and dropped, both directions together. */
export interface LinkCounts {
  passed: number;
  dropped: number;
}

export interface Degradation {
  /** Added to every packet, in each direction. */
  delayMs: number;
  /** Share of packets dropped, in each direction. */
  lossPct: number;
}

/**
 * Delays and drops a host's packets in both directions; resolves with the undo, which
 * reports what crossed the bad link (so a test can tell it carried the traffic). With
 * netem: a qdisc on each end of the host's veth. Without it: the veth's root end moves
 * into a namespace of its own, where a user-space wire (wire.py) passes frames between it
 * and a new veth pair whose other end takes its place on the bridge.
 */
export type Undo = () => Promise<LinkCounts>;

export async function degradeLink(h: HostNet, bridge: string, d: Degradation, method: DegradeMethod): Promise<Undo> {
  return method === "netem" ? netem(h, d) : wire(h, bridge, d);
}

/** `tc -s qdisc` of a device: "Sent <bytes> bytes <n> pkt (dropped <d>, …". */
async function qdiscCounts(args: string[]): Promise<LinkCounts> {
  const m = /Sent \d+ bytes (\d+) pkt \(dropped (\d+)/.exec(await run(args[0]!, args.slice(1)));
  return { passed: Number(m?.[1] ?? 0), dropped: Number(m?.[2] ?? 0) };
}

async function netem(h: HostNet, d: Degradation): Promise<Undo> {
  const spec = ["root", "netem", "delay", `${d.delayMs}ms`, "loss", `${d.lossPct}%`];
  await run("tc", ["qdisc", "add", "dev", h.veth, ...spec]);
  await run("ip", ["netns", "exec", h.ns, "tc", "qdisc", "add", "dev", "eth0", ...spec]);
  const undo = (): void => {
    runQuietly("tc", ["qdisc", "del", "dev", h.veth, "root"]);
    runQuietly("ip", ["netns", "exec", h.ns, "tc", "qdisc", "del", "dev", "eth0", "root"]);
  };
  const guard = onExit(undo);
  return async () => {
    const outward = await qdiscCounts(["tc", "-s", "qdisc", "show", "dev", h.veth]);
    const inward = await qdiscCounts(["ip", "netns", "exec", h.ns, "tc", "-s", "qdisc", "show", "dev", "eth0"]);
    guard.release();
    undo();
    return { passed: outward.passed + inward.passed, dropped: outward.dropped + inward.dropped };
  };
}

const wireScript = fileURLToPath(new URL("./wire.py", import.meta.url));

/**
 *   bridge ── sw<pid>-i ═veth═ sx<pid>-i ─[wire.py: delay, loss]─ sv<pid>-i ═veth═ eth0 (host)
 *            root namespace  │ strand-<pid>-w<i>: no addresses, so its own stack drops everything │
 */
async function wire(h: HostNet, bridge: string, d: Degradation): Promise<Undo> {
  const suffix = h.veth.slice(2); // <pid>-<i>
  const wns = `${h.ns.replace(/-(\d+)$/, "-w$1")}`;
  const outer = `sw${suffix}`;
  const inner = `sx${suffix}`;
  const teardown = (): void => {
    runQuietly("ip", ["link", "del", outer]);
    // Back to our namespace before the wire's goes: a namespace takes its veths with it.
    runQuietly("ip", ["-n", wns, "link", "set", h.veth, "netns", String(process.pid)]);
    runQuietly("ip", ["netns", "del", wns]);
    runQuietly("ip", ["link", "set", h.veth, "master", bridge]);
    runQuietly("ip", ["link", "set", h.veth, "up"]);
  };
  const guard = onExit(teardown);
  await run("ip", ["netns", "add", wns]);
  await run("ip", ["link", "add", outer, "type", "veth", "peer", "name", inner]);
  await run("ip", ["link", "set", inner, "netns", wns]);
  await run("ip", ["link", "set", h.veth, "netns", wns]);
  for (const dev of [inner, h.veth]) await run("ip", ["-n", wns, "link", "set", dev, "up"]);
  await run("ip", ["link", "set", outer, "master", bridge]);
  await run("ip", ["link", "set", outer, "up"]);
  const child = spawn("ip", ["netns", "exec", wns, "python3", wireScript, h.veth, inner, String(d.delayMs), String(d.lossPct)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const done = exited(child);
  const streamsClosed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const killGuard = onExit(() => child.kill("SIGKILL"));
  const lines = createInterface({ input: child.stdout! });
  const said: string[] = [];
  lines.on("line", (l) => said.push(l));
  await new Promise<void>((resolve, reject) => {
    void done.then((code) => reject(new Error(`wire.py exited (${code}) before it was ready`)));
    lines.once("line", () => resolve());
  });
  return async () => {
    child.stdin!.end(); // wire.py exits when its stdin closes, saying what it passed and dropped
    await streamsClosed; // its last line read too
    killGuard.release();
    guard.release();
    teardown();
    const m = /passed (\d+) dropped (\d+)/.exec(said.join("\n"));
    return { passed: Number(m?.[1] ?? 0), dropped: Number(m?.[2] ?? 0) };
  };
}
