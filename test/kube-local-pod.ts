import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import { cliCommand } from "../src/driver/local.ts";
import type { Image } from "./dockerfile.ts";
import { exited, repoRoot } from "./helpers.ts";
import { onExit } from "./hosts/exit-cleanup.ts";
import type { HostNet } from "./hosts/topology.ts";
import { containerArgs, containerEnv, expand, type PodFacts } from "./kube-pod.ts";

// A pod of a rendered manifest run as processes on this machine, as close to a pod as a
// machine without Kubernetes gets:
// - its own network namespace and address (a test host from test/hosts/topology.ts): the
//   pod IP, with the manifest's own ports, probed over HTTP from outside like the kubelet;
// - per container, its own PID namespace, where the image's entrypoint (tini) is PID 1 and
//   receives the SIGTERM the kubelet sends; its own UTS namespace, the pod's name as its
//   hostname; its own mount namespace, where /etc/hosts names the cluster's Services (what
//   cluster DNS answers);
// - the pod's volumes as directories of this machine shared by its containers (emptyDir:
//   empty; configMap and secret: their keys as files). A mountPath this machine has (/tmp) is
//   bind-mounted; one only the image has (/var/cache/strand, /etc/strand/tls) is replaced by
//   the volume's directory where it appears in command, args and env;
// - init containers run first, each to success, as the kubelet runs them;
// - the image's ENV, then the container's env as the kubelet builds it; the image's
//   ENTRYPOINT with the container's args (a container's command replaces the entrypoint).
//   The one stand-in: `strand` (in the image, a link to bin/strand.js over dist/) is this
//   checkout's CLI run from source.
// Not modelled: the read-only root filesystem, the non-root user, resource limits.

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
  image: Image;
  facts: Omit<PodFacts, "podIP">;
  /** ConfigMap name -> its data (from the render). */
  configMaps?: Record<string, Record<string, string>>;
  /** Service name -> address (the cluster's DNS), written to the pod's /etc/hosts. */
  services: Record<string, string>;
  /** A directory for the pod's volumes and /etc/hosts. */
  dir: string;
  /** Stand-ins for what the image provides in another way (named at the call site). */
  extraEnv?: Record<string, string>;
}

let podsMade = 0;

export class LocalPod {
  readonly processes: PodProcess[] = [];
  private readonly volumes = new Map<string, string>();
  private readonly hosts: string;

  constructor(private readonly o: LocalPodOptions) {
    // A pod of the same name later (a restart) gets fresh volumes, as in Kubernetes.
    const root = path.join(o.dir, `${o.facts.podName}.${++podsMade}`);
    for (const v of o.pod.volumes ?? []) {
      const dir = path.join(root, "volumes", v.name);
      mkdirSync(dir, { recursive: true });
      const files = v.configMap !== undefined ? o.configMaps?.[v.configMap.name!] : v.secret !== undefined ? o.facts.secrets[v.secret.secretName!] : {};
      if (files === undefined) throw new Error(`volume ${v.name}: its ConfigMap or Secret is not given`);
      for (const [k, text] of Object.entries(files)) writeFileSync(path.join(dir, k), text);
      this.volumes.set(v.name, dir);
    }
    this.hosts = path.join(root, "hosts");
    writeFileSync(this.hosts, `${readFileSync("/etc/hosts", "utf8")}\n${Object.entries(o.services).map(([name, ip]) => `${ip}\t${name}`).join("\n")}\n`);
  }

  get name(): string {
    return this.o.facts.podName;
  }

  /** The directory standing for a volume. */
  volume(name: string): string {
    return this.volumes.get(name)!;
  }

  /** Runs the init containers, one after another, each to success. */
  async initialize(): Promise<void> {
    for (const c of this.o.pod.initContainers ?? []) {
      const p = this.start(c);
      const code = await p.exit;
      if (code !== 0) throw new Error(`init container ${c.name} exited (${code}): ${p.stderr()}`);
    }
  }

  /** Starts the pod's container `name` (default: the first). */
  run(name?: string): PodProcess {
    const c = name === undefined ? this.o.pod.containers[0]! : this.o.pod.containers.find((x) => x.name === name)!;
    return this.start(c);
  }

  private start(c: IContainer): PodProcess {
    const o = this.o;
    const binds: [string, string][] = [];
    const remaps: [string, string][] = [];
    for (const m of c.volumeMounts ?? []) (existsSync(m.mountPath) ? binds : remaps).push([this.volumes.get(m.name)!, m.mountPath]);
    const remap = (v: string): string => remaps.reduce((x, [dir, at]) => (x === at || x.startsWith(`${at}/`) ? dir + x.slice(at.length) : x), v);
    const env = Object.fromEntries(Object.entries(containerEnv(c, { ...o.facts, podIP: o.host.ip })).map(([k, v]) => [k, remap(v)]));
    const args = containerArgs(c, env).map(remap);
    let line: string[];
    if (c.command !== undefined) line = [...c.command.map((x) => remap(expand(x, env))), ...args];
    else {
      const strand = o.image.entrypoint.indexOf("strand");
      if (strand < 0) throw new Error(`the image's ENTRYPOINT runs no strand: ${o.image.entrypoint.join(" ")}`);
      line = [...o.image.entrypoint.slice(0, strand), process.execPath, ...cliCommand(), ...o.image.entrypoint.slice(strand + 1), ...args];
    }
    const setup = [
      "set -e",
      `hostname ${q(o.facts.podName)}`,
      `mount --bind ${q(this.hosts)} /etc/hosts`,
      ...binds.map(([dir, at]) => `mount --bind ${q(dir)} ${q(at)}`),
      `cd ${q(repoRoot)}`,
      'exec "$@"',
    ].join("\n");
    const child = spawn("ip", [
      "netns", "exec", o.host.ns,
      "unshare", "--mount", "--uts", "--pid", "--fork", "--kill-child",
      "sh", "-c", setup, "sh", ...line,
    ], {
      // The image's ENV, then the container's (what a container starts with), plus what this
      // machine needs to find node.
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...o.image.env, ...env, ...o.extraEnv },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const p = watch(child, o.host);
    this.processes.push(p);
    return p;
  }
}

function watch(child: ChildProcess, host: HostNet): PodProcess {
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
    probe: async (p, port) => (await fetch(`http://${host.ip}:${port}${p}`)).status,
  };
}

/** Single-quoted for sh. */
const q = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;
