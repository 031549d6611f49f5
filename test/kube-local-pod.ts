import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import { cliCommand } from "../src/driver/local.ts";
import type { Image } from "./dockerfile.ts";
import { exited, repoRoot } from "./helpers.ts";
import { onExit } from "./hosts/exit-cleanup.ts";
import type { HostNet } from "./hosts/topology.ts";
import { containerArgs, containerEnv, type PodFacts } from "./kube-pod.ts";

// A container of a rendered manifest run as a process on this machine, as close to a pod as
// a machine without Kubernetes gets:
// - its own network namespace and address (a test host from test/hosts/topology.ts): the
//   pod IP, with the manifest's own ports, probed over HTTP from outside like the kubelet;
// - its own PID namespace, where the image's entrypoint (tini) is PID 1 and receives the
//   SIGTERM the kubelet sends;
// - its own UTS namespace, with the pod's name as hostname (as in a pod);
// - its own mount namespace: /etc/hosts names the cluster's Services (what cluster DNS
//   answers), and each emptyDir of the pod is a fresh tmpfs at its mountPath;
// - the image's ENV, then the container's env as the kubelet builds it; the image's
//   ENTRYPOINT with the container's args. The one stand-in: `strand` (in the image, a link
//   to bin/strand.js over dist/) is this checkout's CLI run from source.
// Not modelled: the read-only root filesystem, the non-root user, resource limits, and
// volumes other than emptyDirs (none of the pods in the dev overlay has any).

export interface PodProcess {
  child: ChildProcess;
  /** PID of the container's PID 1 (tini), as seen from here. */
  init(): number;
  lines: string[];
  line(re: RegExp): Promise<RegExpExecArray>;
  stderr(): string;
  exit: Promise<number | NodeJS.Signals>;
  /** The kubelet's probe: GET http://<pod IP>:<port><path>. */
  probe(path: string, port: number): Promise<number>;
}

export interface LocalPodOptions {
  host: HostNet;
  pod: IPodSpec;
  container: IContainer;
  image: Image;
  facts: Omit<PodFacts, "podIP">;
  /** Service name -> address (the cluster's DNS), written to the pod's /etc/hosts. */
  services: Record<string, string>;
  /** A directory for the pod's /etc/hosts. */
  dir: string;
  /**
   * Paths of the image this machine does not have, and where they are here (a prefix of an
   * arg or env value is replaced): e.g. a ConfigMap mounted under the image's /app.
   */
  paths?: Record<string, string>;
  /** Stand-ins for what the image provides in another way (named at the call site). */
  extraEnv?: Record<string, string>;
}

export function startPod(o: LocalPodOptions): PodProcess {
  const remap = (v: string): string => Object.entries(o.paths ?? {}).reduce((x, [from, to]) => (x.startsWith(from) ? to + x.slice(from.length) : x), v);
  const env = Object.fromEntries(Object.entries(containerEnv(o.container, { ...o.facts, podIP: o.host.ip })).map(([k, v]) => [k, remap(v)]));
  const args = containerArgs(o.container, env).map(remap);
  const strand = o.image.entrypoint.indexOf("strand");
  if (strand < 0) throw new Error(`the image's ENTRYPOINT runs no strand: ${o.image.entrypoint.join(" ")}`);
  const entrypoint = [...o.image.entrypoint.slice(0, strand), process.execPath, ...cliCommand(), ...o.image.entrypoint.slice(strand + 1)];
  const emptyDirs = new Set((o.pod.volumes ?? []).filter((v) => v.emptyDir !== undefined).map((v) => v.name));
  const mounts = (o.container.volumeMounts ?? []).filter((m) => emptyDirs.has(m.name)).map((m) => m.mountPath);
  const hosts = path.join(o.dir, `hosts-${o.host.ns}`);
  writeFileSync(hosts, `${readFileSync("/etc/hosts", "utf8")}\n${Object.entries(o.services).map(([name, ip]) => `${ip}\t${name}`).join("\n")}\n`);
  // Mount points the host lacks are made inside a tmpfs on their nearest existing parent,
  // which only this namespace sees (an image has them; this machine need not).
  const setup = [
    "set -e",
    `hostname ${q(o.facts.podName)}`,
    `mount --bind ${q(hosts)} /etc/hosts`,
    ...mounts.map((m) => `p=${q(m)}; while [ ! -d "$p" ]; do p=$(dirname "$p"); done; [ "$p" = ${q(m)} ] || { mount -t tmpfs tmpfs "$p"; mkdir -p ${q(m)}; }; mount -t tmpfs -o mode=1777 tmpfs ${q(m)}`),
    `cd ${q(repoRoot)}`,
    'exec "$@"',
  ].join("\n");
  const child = spawn("ip", [
    "netns", "exec", o.host.ns,
    "unshare", "--mount", "--uts", "--pid", "--fork", "--kill-child",
    "sh", "-c", setup, "sh", ...entrypoint, ...args,
  ], {
    // The image's ENV, then the container's (what a container starts with), plus what this
    // machine needs to find node.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...o.image.env, ...env, ...o.extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const guard = onExit(() => child.kill("SIGKILL"));
  const exit = exited(child);
  void exit.then(() => guard.release());
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  let err = "";
  let partial = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  child.stdout!.setEncoding("utf8").on("data", (d: string) => {
    const parts = (partial + d).split("\n");
    partial = parts.pop()!;
    for (const l of parts) {
      lines.push(l);
      for (const w of [...waiters]) {
        const m = w.re.exec(l);
        if (m === null) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  return {
    child, lines, exit,
    stderr: () => err,
    init: () => {
      // ip netns exec execs unshare in place; unshare's one child is the namespace's PID 1.
      const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
      if (kids.length !== 1) throw new Error(`expected one child of unshare, found ${kids.length}`);
      return kids[0]!;
    },
    line: (re) => new Promise((resolve, reject) => {
      for (const l of lines) {
        const m = re.exec(l);
        if (m !== null) return resolve(m);
      }
      waiters.push({ re, resolve });
      void exit.then((code) => reject(new Error(`pod process exited (${code}) before printing ${re}; stderr:\n${err}`)));
    }),
    probe: async (p, port) => (await fetch(`http://${o.host.ip}:${port}${p}`)).status,
  };
}

/** Single-quoted for sh. */
const q = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;
