import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import type { IService } from "kubernetes-models/v1/Service";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AuthError, connect } from "../src/index.ts";
import { readImage } from "./dockerfile.ts";
import { fixture, removeDir, repoRoot, RunnerEvents } from "./helpers.ts";
import { netnsUnavailable } from "./hosts/support.ts";
import { Topology, type HostNet } from "./hosts/topology.ts";
import { LocalPod, type PodProcess } from "./kube-local-pod.ts";
import { component, flag, type Workload } from "./kube-pod.ts";
import { kubectlVersion, render, type KubeObject } from "./kube-render.ts";
import { liveRunners } from "./membership/head-cluster.ts";

// The image's entry command run the way the dev overlay's pods run it, against each other:
// the head and two runners, each in a pod of its own (test/kube-local-pod.ts: own network,
// PID, UTS and mount namespaces; args, env and probes read from the rendered manifests; the
// image's ENTRYPOINT, tini, as PID 1). Then a driver connects through the head, and a runner
// gets the kubelet's SIGTERM. Then the quick start's driver Job runs as a pod against them, in
// the dev overlay and in the tls overlay (init containers making each pod's certificate).

const run = promisify(execFile);
type W = typeof import("./fixtures/kube-work.ts");

const why = kubectlVersion() === undefined ? "kubectl is not installed" : (netnsUnavailable() ?? (await run("tini", ["--version"]).then(() => undefined, () => "tini is not installed (apt-get install tini)")));
// CI's machine has all of it (.ci/run installs tini): there, a missing piece is a failure.
if (why !== undefined && process.env.CI) throw new Error(`the Kubernetes entry test cannot run: ${why}`);

const NAMESPACE = "strand";

describe.skipIf(why !== undefined)(`the image's entry command as the manifests run it${why ? ` (skipped: ${why})` : ""}`, () => {
  let top: Topology;
  let dir: string;
  const pods: LocalPod[] = [];
  const objects = (): KubeObject[] => render("overlays/dev");
  const image = readImage();
  const token = randomBytes(24).toString("base64url");
  const facts = (podName: string) => ({ podName, namespace: NAMESPACE, secrets: { "strand-token": { token } } });
  const portOf = (w: Workload, p: string | number | undefined): number => (typeof p === "number" ? p : w.main.ports!.find((x) => x.name === p)!.containerPort);
  const readiness = (w: Workload) => ({ path: w.main.readinessProbe!.httpGet!.path!, port: portOf(w, w.main.readinessProbe!.httpGet!.port) });
  const liveness = (w: Workload) => ({ path: w.main.livenessProbe!.httpGet!.path!, port: portOf(w, w.main.livenessProbe!.httpGet!.port) });

  beforeAll(async () => {
    top = await Topology.create(4);
    // Not under /tmp, where every pod mounts an emptyDir of its own, nor under node_modules,
    // where tsx applies no tsconfig paths.
    dir = await mkdtemp("/var/tmp/strand-kube-");
  }, 60_000);

  afterAll(async () => {
    const all = pods.flatMap((p) => p.processes);
    for (const p of all) p.child.kill("SIGKILL");
    await Promise.all(all.map((p) => p.exit));
    await top?.destroy();
    if (dir !== undefined) await removeDir(dir);
  });

  test("head and two runners as pods: probes answer, a driver through the head uses both, a runner told to stop goes unready, drains, and exits in its grace period", async () => {
    const rendered = objects();
    const head = component(rendered, "head");
    const runner = component(rendered, "runner");
    const service = rendered.find((o): o is KubeObject & IService => o.kind === "Service" && o.metadata.name === "strand-head")!;
    // Cluster DNS alone stands in for the Service here: that holds if it keeps the port.
    const servicePort = service.spec!.ports![0]!;
    expect(portOf(head, servicePort.targetPort)).toBe(servicePort.port);
    const [headHost, runnerHosts] = [top.hosts[0]!, [top.hosts[1]!, top.hosts[2]!]];
    const services = { [service.metadata.name]: headHost.ip, [`${service.metadata.name}.${NAMESPACE}.svc.cluster.local`]: headHost.ip };
    const pod = (w: Workload, host: typeof headHost, name: string): PodProcess => {
      const p = new LocalPod({ host, pod: w.pod, image, facts: facts(name), services, dir });
      pods.push(p);
      return p.run();
    };

    const headPod = pod(head, headHost, "strand-head-7d9f8-abcde");
    await headPod.line(/^listening on /);
    expect(await headPod.probe(liveness(head).path, liveness(head).port)).toBe(200);
    expect(await headPod.probe(readiness(head).path, readiness(head).port)).toBe(200);

    const runnerPods = runnerHosts.map((h, i) => pod(runner, h, `strand-runner-5c6d7-${"xy"[i]}1234`));
    await Promise.all(runnerPods.map((p) => p.line(/^listening on /)));
    // Listening on all interfaces at the manifest's port; advertised at the pod IP.
    const port = Number(flag(runner.main.args, "--listen")!.split(":")[1]);
    const addresses = runnerHosts.map((h) => `${h.ip}:${port}`);

    // A driver elsewhere in the cluster knows only the head.
    await using cluster = await connect({ head: `${headHost.ip}:${servicePort.port}`, token });
    await liveRunners(cluster, 2);
    expect(cluster.runners.map((r) => r.address).sort()).toEqual([...addresses].sort());
    // Threads follow the dev overlay's CPU request (500m: one thread).
    expect(cluster.runners.map((r) => r.threads)).toEqual([1, 1]);
    for (const p of runnerPods) {
      expect(await p.probe(liveness(runner).path, liveness(runner).port)).toBe(200);
      expect(await p.probe(readiness(runner).path, readiness(runner).port)).toBe(200);
    }

    const w = await cluster.import<W>(fixture("kube-work.ts"));
    const first = await Promise.all(Array.from({ length: 12 }, (_, i) => w.slow(i, 30)));
    expect(first.map((r) => r.i)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(new Set(first.map((r) => r.pod))).toEqual(new Set(["strand-runner-5c6d7-x1234", "strand-runner-5c6d7-y1234"]));

    // The kubelet's SIGTERM goes to the container's PID 1, the image's tini, which passes it on.
    const events = new RunnerEvents(cluster);
    const job = Array.from({ length: 8 }, (_, i) => w.slow(i, 1500));
    const [leaving] = runnerPods;
    const leavingAddress = addresses[0]!;
    const busy = cluster.runners.find((r) => r.address === leavingAddress)!;
    expect(busy.inFlight).toBeGreaterThan(0);
    const signalled = performance.now();
    process.kill(leaving!.init(), "SIGTERM");
    let exited = false;
    void leaving!.exit.then(() => (exited = true));
    // The kubelet polls readiness; so does this, until the drain shows.
    let ready = 200;
    while (ready === 200 && !exited) ready = await leaving!.probe(readiness(runner).path, readiness(runner).port);
    expect(ready).toBe(503);
    expect(exited).toBe(false);
    // Draining is not dying: liveness still passes, so the kubelet does not kill it early.
    expect(await leaving!.probe(liveness(runner).path, liveness(runner).port)).toBe(200);
    await events.next("left", leavingAddress);
    const results = await Promise.all(job);
    expect(results.map((r) => r.i)).toEqual(Array.from({ length: 8 }, (_, i) => i));
    expect(await leaving!.exit).toBe(0);
    // Within the pod's grace period, so the kubelet would never have sent SIGKILL (the
    // runner's own --grace bounds the drain below it: see kubernetes-manifests.test.ts).
    expect(performance.now() - signalled).toBeLessThan(runner.pod.terminationGracePeriodSeconds! * 1000);
    expect(cluster.stats.failed).toBe(0);

    // The other runner serves on, and Docker's HEALTHCHECK (the image's own) agrees.
    const staying = runnerPods[1]!;
    expect(await staying.probe(readiness(runner).path, readiness(runner).port)).toBe(200);
    const healthcheck = (host: typeof headHost) => run("ip", ["netns", "exec", host.ns, process.execPath, ...image.healthcheck!.cmd.slice(1)], { env: { ...process.env, ...image.env } }).then(() => 0, (e: { code: number }) => e.code);
    expect(await healthcheck(runnerHosts[1]!)).toBe(0);
    expect(await healthcheck(runnerHosts[0]!)).toBe(1); // nothing serves there any more

    process.kill(headPod.init(), "SIGTERM");
    expect(await headPod.exit).toBe(0);
    process.kill(staying.init(), "SIGTERM");
    expect(await staying.exit).toBe(0);
  }, 120_000);

  /**
   * The head and two runners of `cluster`, and the driver Job of `driver`, as pods (init
   * containers first); the Job runs to its end. Returns the Job's output.
   */
  async function job(cluster: string, driver: string, secrets: Record<string, Record<string, string>>, whileUp?: (head: string) => Promise<void>): Promise<string> {
    const rendered = render(cluster);
    const jobObjects = render(driver);
    const configMaps = Object.fromEntries([...rendered, ...jobObjects].filter((o) => o.kind === "ConfigMap").map((o) => [o.metadata.name, (o as KubeObject & { data: Record<string, string> }).data]));
    const [headHost, a, b, jobHost] = top.hosts as [HostNet, HostNet, HostNet, HostNet];
    const services = { "strand-head": headHost.ip };
    const start = async (w: Workload, host: HostNet, name: string, extraEnv?: Record<string, string>): Promise<PodProcess> => {
      const p = new LocalPod({ host, pod: w.pod, image, facts: { ...facts(name), secrets }, configMaps, services, dir, ...(extraEnv ? { extraEnv } : {}) });
      pods.push(p);
      await p.initialize();
      return p.run();
    };
    const headPod = await start(component(rendered, "head"), headHost, "strand-head-1");
    await headPod.line(/^listening on /);
    const runners = await Promise.all([start(component(rendered, "runner"), a, "strand-runner-a"), start(component(rendered, "runner"), b, "strand-runner-b")]);
    await Promise.all(runners.map((p) => p.line(/^listening on /)));

    // In the image, /app/package.json makes the script (a ConfigMap under /app) an ES module
    // and `import "strand"` resolve to the package itself (dist/); here a package.json above
    // the pods' volumes and a tsconfig's paths (src/) do that.
    await writeFile(path.join(dir, "package.json"), JSON.stringify({ type: "module" }));
    await writeFile(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { paths: { strand: [path.join(repoRoot, "src/index.ts")] } } }));
    const driverPod = await start(component(jobObjects, "driver"), jobHost, "strand-driver-q7x2z", { TSX_TSCONFIG_PATH: path.join(dir, "tsconfig.json"), CALLS: "200" });
    expect(await driverPod.exit, driverPod.stderr().slice(-2000)).toBe(0);
    await whileUp?.(`${headHost.ip}:7600`);

    for (const p of [...runners, headPod]) {
      process.kill(p.init(), "SIGTERM");
      expect(await p.exit).toBe(0);
    }
    return driverPod.lines.join("\n");
  }

  const expectTheJobRan = (out: string): void => {
    expect(out).toMatch(/^200 calls; longest Collatz chain from n <= 200: n=171, 124 steps$/m);
    expect(out).toMatch(/^ran on 2 runners:$/m);
    expect(out).toMatch(/^ {2}strand-runner-a pid \d+: \d+ calls$/m);
    expect(out).toMatch(/^ {2}strand-runner-b pid \d+: \d+ calls$/m);
  };

  test("the quick start's driver Job, as a pod, runs its script through the head on both runners", async () => {
    expectTheJobRan(await job("overlays/dev", "driver", { "strand-token": { token } }));
  }, 120_000);

  test("tls: every pod makes its certificate from the CA Secret in its init container, and the Job runs over mutual TLS", async () => {
    // The CA as the docs make it, into the Secret strand-tls-ca.
    const ca = path.join(dir, "ca");
    await mkdir(ca);
    await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path.join(ca, "ca.key"), "-out", path.join(ca, "ca.crt"), "-days", "1", "-subj", "/CN=strand test CA"]);
    const secrets = {
      "strand-token": { token },
      "strand-tls-ca": { "ca.crt": await readFile(path.join(ca, "ca.crt"), "utf8"), "ca.key": await readFile(path.join(ca, "ca.key"), "utf8") },
    };
    // A driver with the CA but no certificate of its own is refused (mutual TLS).
    const refused = async (head: string): Promise<void> => {
      await expect(connect({ head, token, tls: { ca: path.join(ca, "ca.crt") } })).rejects.toThrow(AuthError);
    };
    expectTheJobRan(await job("overlays/tls", "driver-tls", secrets, refused));
    // What the head's and a runner's init containers made: certificates for the pod's IP
    // (and the head's Service names), signed by the CA.
    const volume = (podName: string): string => [...pods].reverse().find((p) => p.name === podName)!.volume("strand-tls");
    const san = async (podName: string): Promise<string> => (await run("openssl", ["x509", "-in", path.join(volume(podName), "tls.crt"), "-noout", "-ext", "subjectAltName"])).stdout;
    expect(await san("strand-runner-a")).toContain(`IP Address:${top.hosts[1]!.ip}`);
    expect(await san("strand-head-1")).toMatch(/DNS:strand-head\b.*DNS:strand-head\.strand\.svc\.cluster\.local/s);
    await run("openssl", ["verify", "-CAfile", path.join(ca, "ca.crt"), path.join(volume("strand-runner-a"), "tls.crt")]);
  }, 120_000);
});
