import { readFileSync } from "node:fs";
import path from "node:path";
import type { IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { IService } from "kubernetes-models/v1/Service";
import type { IScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import { parse as parseYamlDoc } from "yaml";
import { beforeAll, describe, expect, test } from "vitest";
import { DRIVER, RUNNER, seriesNames, specsOf } from "../src/protocol/metrics/catalogue.ts";
import { lint, readImage } from "./dockerfile.ts";
import { component, flag, references, workloads, type Workload } from "./kube-pod.ts";
import { idOf, KUBE_DIR, kubectlVersion, kustomizations, parseYaml, render, schemaErrors, type KubeObject } from "./kube-render.ts";

// deploy/kubernetes, offline: every kustomization rendered by kubectl's kustomize, every
// object checked against the Kubernetes schemas, and the properties a cluster depends on
// asserted on the rendered objects (what `kubectl apply -k` would send). The Dockerfile is
// linted and read. No cluster and no container engine run here: see docs/deploy.md.

const kubectl = kubectlVersion();
// CI's machine has kubectl (and its kustomize): there, its absence is a failure, not a skip.
if (kubectl === undefined && process.env.CI) throw new Error("kubectl is not installed: the Kubernetes manifests cannot be rendered (install kubectl >= 1.27, which carries kustomize v5)");

/** Secrets the docs tell the user to create; every other reference must be in the render. */
const USER_SECRETS = new Set(["strand-token", "strand-tls-ca"]);
const CATALOGUE_SERIES = new Set([...specsOf(RUNNER), ...specsOf(DRIVER)].flatMap(seriesNames));
const image = readImage();

describe.skipIf(kubectl === undefined)(`Kubernetes manifests (kubectl ${kubectl?.kubectl}, kustomize ${kubectl?.kustomize})`, () => {
  const rendered = new Map<string, KubeObject[]>();
  beforeAll(() => {
    for (const dir of kustomizations()) rendered.set(dir, render(dir));
  });
  const of = (dir: string): KubeObject[] => {
    const r = rendered.get(dir);
    if (r === undefined) throw new Error(`no kustomization ${dir}`);
    return r;
  };
  const clusters = ["base", "overlays/dev", "overlays/tls", "overlays/keda", "overlays/hpa"];
  const drivers = ["driver", "driver-tls"];
  const everything = (): [string, KubeObject[]][] => [...rendered];

  test("there are the base, the overlays dev, tls, keda and hpa, and the driver Job, and each renders", () => {
    expect([...rendered.keys()]).toEqual(expect.arrayContaining([...clusters, ...drivers]));
    for (const [dir, objects] of everything()) expect(objects.length, dir).toBeGreaterThan(0);
  });

  test("every rendered object validates against the Kubernetes schemas (types, required fields, no unknown field)", () => {
    const errors = schemaErrors(everything().flatMap(([where, objects]) => objects.map((object) => ({ where, object }))));
    expect(errors).toEqual([]);
  });

  test("the schema check finds a wrong type, an unknown field and an unknown kind", () => {
    const runner = structuredClone(component(of("base"), "runner").object);
    const bad = (edit: (w: Workload) => void): KubeObject => {
      const o = structuredClone(runner);
      edit(workloads([o])[0]!);
      return o;
    };
    const typo = bad((w) => Object.assign(w.main, { readinessProbes: w.main.readinessProbe }));
    const wrongType = bad((w) => Object.assign(w.main.ports![0]!, { containerPort: "7700" }));
    const errors = schemaErrors([
      { where: "typo", object: typo },
      { where: "type", object: wrongType },
      { where: "kind", object: { apiVersion: "example.com/v1", kind: "Thing", metadata: { name: "x" } } },
    ]);
    expect(errors.find((e) => e.startsWith("typo:"))).toMatch(/readinessProbes/);
    expect(errors.find((e) => e.startsWith("type:"))).toMatch(/containerPort/);
    expect(errors.find((e) => e.startsWith("kind:"))).toMatch(/no schema/);
  });

  test("the token comes from a Secret, in env, and is never in args, command or a literal env value", () => {
    for (const [dir, objects] of everything()) {
      for (const w of workloads(objects)) {
        const where = `${dir} ${idOf(w.object)}`;
        const token = w.main.env?.find((e) => e.name === "STRAND_TOKEN");
        expect(token?.valueFrom?.secretKeyRef, where).toEqual({ name: "strand-token", key: "token" });
        for (const c of [...w.pod.containers, ...(w.pod.initContainers ?? [])]) {
          const line = [...(c.command ?? []), ...(c.args ?? [])];
          expect(line.some((a) => /token/i.test(a)), `${where} ${c.name}: ${line.join(" ")}`).toBe(false);
          for (const e of c.env ?? []) if (/TOKEN/i.test(e.name)) expect(e.value, `${where} ${c.name} env ${e.name}`).toBeUndefined();
        }
      }
      // A Secret in the render would be a token in the repository.
      expect(objects.filter((o) => o.kind === "Secret").map(idOf), dir).toEqual([]);
    }
  });

  test("head and runners: args only (the image's tini stays PID 1), every $(VAR) defined, health on all interfaces, probes on its port and paths", () => {
    for (const dir of clusters) {
      for (const name of ["head", "runner"]) {
        const { main } = component(of(dir), name);
        const where = `${dir} ${name}`;
        expect(main.command, where).toBeUndefined();
        expect(main.args?.[0], where).toBe(name);
        const defined = new Set((main.env ?? []).map((e) => e.name));
        for (const a of main.args ?? []) for (const r of references(a)) expect(defined.has(r), `${where}: $(${r}) in args is not in env`).toBe(true);
        const health = flag(main.args, "--health");
        expect(health, where).toMatch(/^0\.0\.0\.0:\d+$/);
        const healthPort = Number(health!.split(":")[1]);
        const portOf = (p: string | number | undefined): number | undefined => (typeof p === "number" ? p : main.ports?.find((x) => x.name === p)?.containerPort);
        expect(main.readinessProbe?.httpGet?.path, where).toBe("/readyz");
        expect(portOf(main.readinessProbe?.httpGet?.port), where).toBe(healthPort);
        expect(main.livenessProbe?.httpGet?.path, where).toBe("/healthz");
        expect(portOf(main.livenessProbe?.httpGet?.port), where).toBe(healthPort);
      }
    }
  });

  test("runners listen on all interfaces, advertise their pod IP on the same port, and join the head's Service", () => {
    for (const dir of clusters) {
      const objects = of(dir);
      const { main } = component(objects, "runner");
      const listen = flag(main.args, "--listen")!;
      expect(listen, dir).toMatch(/^0\.0\.0\.0:\d+$/);
      const port = listen.split(":")[1]!;
      expect(flag(main.args, "--advertise"), dir).toBe(`$(POD_IP):${port}`);
      expect(main.env?.find((e) => e.name === "POD_IP")?.valueFrom?.fieldRef?.fieldPath, dir).toBe("status.podIP");
      expect(main.ports?.find((p) => p.name === "strand")?.containerPort, dir).toBe(Number(port));

      const service = objects.find((o): o is KubeObject & IService => o.kind === "Service" && o.metadata.name === "strand-head")!;
      const head = component(objects, "head");
      const [host, joinPort] = flag(main.args, "--join")!.split(":");
      expect(host, dir).toBe(service.metadata.name);
      const servicePort = service.spec!.ports!.find((p) => p.port === Number(joinPort));
      expect(servicePort, `${dir}: the Service has no port ${joinPort}`).toBeDefined();
      // The Service sends that port to the head's listening port, and selects the head's pods.
      const headPort = head.main.ports!.find((p) => p.name === servicePort!.targetPort || p.containerPort === servicePort!.targetPort)!;
      expect(flag(head.main.args, "--listen"), dir).toBe(`0.0.0.0:${headPort.containerPort}`);
      for (const [k, v] of Object.entries(service.spec!.selector!)) expect(head.labels[k], `${dir}: Service selector ${k}`).toBe(v);
      expect(Object.entries(service.spec!.selector!).every(([k, v]) => component(objects, "runner").labels[k] === v), dir).toBe(false);
    }
  });

  test("a runner's pod is given longer than its drain (--grace) before SIGKILL", () => {
    for (const dir of clusters) {
      const { pod, main } = component(of(dir), "runner");
      const graceMs = Number(flag(main.args, "--grace"));
      expect(graceMs, dir).toBeGreaterThan(0);
      expect(pod.terminationGracePeriodSeconds! * 1000, dir).toBeGreaterThan(graceMs);
    }
  });

  test("the PodDisruptionBudget selects the runners, and only them", () => {
    for (const dir of clusters) {
      const objects = of(dir);
      const pdbs = objects.filter((o): o is KubeObject & IPodDisruptionBudget => o.kind === "PodDisruptionBudget");
      expect(pdbs.length, dir).toBe(1);
      const selector = pdbs[0]!.spec!.selector!.matchLabels!;
      const selected = workloads(objects).filter((w) => Object.entries(selector).every(([k, v]) => w.labels[k] === v));
      expect(selected.map((w) => w.labels["app.kubernetes.io/component"]), dir).toEqual(["runner"]);
      expect(pdbs[0]!.spec!.maxUnavailable, dir).toBe(1);
    }
  });

  test("every pod runs as the image's non-root user, read-only, without capabilities; writable paths are emptyDirs", () => {
    const uid = Number(image.user!.split(":")[0]);
    for (const [dir, objects] of everything()) {
      for (const w of workloads(objects)) {
        const where = `${dir} ${idOf(w.object)}`;
        expect(w.pod.securityContext?.runAsNonRoot, where).toBe(true);
        expect(w.pod.securityContext?.runAsUser, where).toBe(uid);
        expect(w.pod.automountServiceAccountToken, where).toBe(false);
        for (const c of [...w.pod.containers, ...(w.pod.initContainers ?? [])]) {
          expect(c.securityContext?.readOnlyRootFilesystem, `${where} ${c.name}`).toBe(true);
          expect(c.securityContext?.allowPrivilegeEscalation, `${where} ${c.name}`).toBe(false);
          expect(c.securityContext?.capabilities?.drop, `${where} ${c.name}`).toEqual(["ALL"]);
          expect(c.resources?.requests?.cpu, `${where} ${c.name}`).toBeDefined();
          expect(c.resources?.requests?.memory, `${where} ${c.name}`).toBeDefined();
          expect(c.resources?.limits?.memory, `${where} ${c.name}`).toBeDefined();
          expect(c.resources?.limits?.cpu, `${where} ${c.name}: no CPU limit (see runners.yaml)`).toBeUndefined();
        }
        const emptyDirs = new Set(w.pod.volumes?.filter((v) => v.emptyDir !== undefined).map((v) => v.name));
        const tmp = w.main.volumeMounts?.find((m) => m.mountPath === "/tmp");
        expect(tmp !== undefined && emptyDirs.has(tmp.name), `${where}: /tmp is an emptyDir`).toBe(true);
        const cacheDir = flag(w.main.args, "--cache-dir");
        if (w.labels["app.kubernetes.io/component"] === "runner") {
          const cache = w.main.volumeMounts?.find((m) => m.mountPath === cacheDir);
          expect(cache !== undefined && emptyDirs.has(cache.name), `${where}: --cache-dir ${cacheDir} is an emptyDir`).toBe(true);
        }
      }
    }
  });

  test("the runners' threads follow their CPU request, and the object store fits in the memory limit", () => {
    for (const dir of clusters) {
      const { main } = component(of(dir), "runner");
      expect(flag(main.args, "--threads"), dir).toBe("$(STRAND_THREADS)");
      expect(main.env?.find((e) => e.name === "STRAND_THREADS")?.valueFrom?.resourceFieldRef, dir).toEqual({ containerName: main.name, resource: "requests.cpu", divisor: "1" });
      expect(flag(main.args, "--object-memory"), dir).toBe("$(STRAND_OBJECT_MEMORY_MIB)");
      const mib = Number(main.env?.find((e) => e.name === "STRAND_OBJECT_MEMORY_MIB")?.value);
      const limit = String(main.resources!.limits!.memory);
      const limitMib = Number(/^(\d+)Mi$/.exec(limit)?.[1] ?? Number(/^(\d+)Gi$/.exec(limit)![1]) * 1024);
      expect(mib, dir).toBeGreaterThan(0);
      expect(mib, `${dir}: object store ${mib} MiB of a ${limit} limit`).toBeLessThanOrEqual(limitMib / 2);
    }
  });

  test("every ConfigMap and Secret a pod names is in the render, or is one the docs tell you to create", () => {
    for (const [dir, objects] of everything()) {
      const configMaps = new Set(objects.filter((o) => o.kind === "ConfigMap").map((o) => o.metadata.name));
      for (const w of workloads(objects)) {
        for (const v of w.pod.volumes ?? []) {
          if (v.configMap !== undefined) expect(configMaps.has(v.configMap.name!), `${dir} ${idOf(w.object)} volume ${v.name}: ConfigMap ${v.configMap.name}`).toBe(true);
          if (v.secret !== undefined) expect(USER_SECRETS.has(v.secret.secretName!), `${dir}: Secret ${v.secret.secretName}`).toBe(true);
        }
        for (const c of [...w.pod.containers, ...(w.pod.initContainers ?? [])]) {
          for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) expect(USER_SECRETS.has(e.valueFrom.secretKeyRef.name!), `${dir}: Secret ${e.valueFrom.secretKeyRef.name}`).toBe(true);
          const mounted = new Set(w.pod.volumes?.map((v) => v.name));
          for (const m of c.volumeMounts ?? []) expect(mounted.has(m.name), `${dir} ${c.name}: mount of unknown volume ${m.name}`).toBe(true);
        }
      }
      // Everything lands in one namespace, so that names resolve (strand-head, the ConfigMaps).
      expect(new Set(objects.map((o) => o.metadata.namespace)), dir).toEqual(new Set(["strand"]));
    }
  });

  test("keda: a ScaledObject scales the runner Deployment (which leaves replicas to it) on a Prometheus query of catalogued metrics", () => {
    const objects = of("overlays/keda");
    const scaled = objects.filter((o): o is KubeObject & IScaledObject => o.kind === "ScaledObject");
    expect(scaled.length).toBe(1);
    const { spec } = scaled[0]!;
    const runner = component(objects, "runner").object;
    expect(spec.scaleTargetRef).toMatchObject({ apiVersion: "apps/v1", kind: runner.kind, name: runner.metadata.name });
    expect((runner as unknown as { spec: { replicas?: number } }).spec.replicas).toBeUndefined();
    expect(spec.minReplicaCount).toBe(0);
    expect(spec.maxReplicaCount).toBeGreaterThan(0);
    const trigger = spec.triggers[0]!;
    expect(trigger.type).toBe("prometheus");
    const meta = trigger.metadata as Record<string, string>;
    expect(meta.serverAddress).toMatch(/^https?:\/\//);
    expect(Number(meta.threshold)).toBeGreaterThan(0);
    const used = meta.query!.match(/strand_[a-z_]+/g) ?? [];
    expect(used).toContain(DRIVER.queued.name);
    expect(used).toContain(RUNNER.inFlight.name);
    for (const m of used) expect(CATALOGUE_SERIES.has(m), `${m} is not in src/protocol/metrics/catalogue.ts`).toBe(true);
    // Scale-down waits for drains: the HPA KEDA makes removes one runner a period at most.
    expect(spec.advanced?.horizontalPodAutoscalerConfig?.behavior?.scaleDown?.policies?.[0]).toMatchObject({ type: "Pods", value: 1 });
  });

  test("hpa: an HPA on the external metric that the prometheus-adapter rules define from catalogued metrics", () => {
    const objects = of("overlays/hpa");
    const hpa = objects.find((o): o is KubeObject & IHorizontalPodAutoscaler => o.kind === "HorizontalPodAutoscaler")!;
    const runner = component(objects, "runner").object;
    expect(hpa.spec!.scaleTargetRef).toMatchObject({ apiVersion: "apps/v1", kind: runner.kind, name: runner.metadata.name });
    expect((runner as unknown as { spec: { replicas?: number } }).spec.replicas).toBeUndefined();
    const metric = hpa.spec!.metrics![0]!.external!.metric.name;
    const adapter = parseYamlDoc(readFileSync(path.join(KUBE_DIR, "overlays/hpa/prometheus-adapter-values.yaml"), "utf8")) as { rules: { external: { seriesQuery: string; name: { as: string }; metricsQuery: string }[] } };
    const rule = adapter.rules.external.find((r) => r.name.as === metric);
    expect(rule, `no adapter rule makes ${metric}`).toBeDefined();
    const used = `${rule!.seriesQuery} ${rule!.metricsQuery}`.match(/strand_[a-z_]+/g) ?? [];
    expect(used).toContain(DRIVER.queued.name);
    for (const m of used) expect(CATALOGUE_SERIES.has(m), `${m} is not in src/protocol/metrics/catalogue.ts`).toBe(true);
  });

  test("tls: each pod makes its certificate in an init container; head and runners take it as --tls-* flags, the driver from STRAND_TLS_*", () => {
    const check = (dir: string, w: Workload, byFlags: boolean): void => {
      const where = `${dir} ${idOf(w.object)}`;
      const init = w.pod.initContainers?.find((c) => c.name === "pod-cert");
      expect(init, where).toBeDefined();
      const [, script, caDir, outDir] = init!.command!;
      const volumeAt = (c: typeof init, dirPath: string): string | undefined => c!.volumeMounts?.find((m) => m.mountPath === dirPath)?.name;
      const volume = (name: string | undefined) => w.pod.volumes?.find((v) => v.name === name);
      // The CA (with its key) only in the init container; the pod's files in memory, read-only for strand.
      expect(volume(volumeAt(init, caDir!))?.secret?.secretName, where).toBe("strand-tls-ca");
      expect(volume(volumeAt(init, path.dirname(script!)))?.configMap, where).toBeDefined();
      const tls = volume(volumeAt(init, outDir!));
      expect(tls?.emptyDir?.medium, where).toBe("Memory");
      const mount = w.main.volumeMounts?.find((m) => m.name === tls!.name);
      expect(mount?.readOnly, where).toBe(true);
      expect(w.main.volumeMounts?.some((m) => m.name === volumeAt(init, caDir!)), `${where}: the CA key reaches strand`).toBe(false);
      const files = { cert: `${mount!.mountPath}/tls.crt`, key: `${mount!.mountPath}/tls.key`, ca: `${mount!.mountPath}/ca.crt` };
      if (byFlags) {
        expect(flag(w.main.args, "--tls-cert"), where).toBe(files.cert);
        expect(flag(w.main.args, "--tls-key"), where).toBe(files.key);
        expect(flag(w.main.args, "--tls-ca"), where).toBe(files.ca);
      } else {
        const env = Object.fromEntries((w.main.env ?? []).map((e) => [e.name, e.value]));
        expect(env, where).toMatchObject({ STRAND_TLS_CERT: files.cert, STRAND_TLS_KEY: files.key, STRAND_TLS_CA: files.ca });
      }
    };
    const cluster = of("overlays/tls");
    for (const name of ["head", "runner"]) check("overlays/tls", component(cluster, name), true);
    check("driver-tls", component(of("driver-tls"), "driver"), false);
    // The head is dialled by its Service name: its certificate must carry it.
    const headInit = component(cluster, "head").pod.initContainers![0]!;
    const names = headInit.env!.find((e) => e.name === "CERT_DNS_NAMES")!.value!.split(",");
    expect(names).toContain("strand-head");
    expect(component(cluster, "runner").pod.initContainers![0]!.env!.some((e) => e.name === "CERT_DNS_NAMES")).toBe(false);
    // Without the overlay, nothing about TLS.
    expect(component(of("base"), "runner").main.args!.some((a) => a.startsWith("--tls"))).toBe(false);
  });

  test("the driver Job runs the script from its ConfigMap with strand run, joined to the head's Service", () => {
    const objects = of("driver");
    const { main, pod } = component(objects, "driver");
    expect(main.command).toBeUndefined();
    expect(main.args?.[0]).toBe("run");
    const script = main.args![1]!;
    const env = Object.fromEntries((main.env ?? []).map((e) => [e.name, e.value]));
    expect(env.STRAND_HEAD).toBe(`strand-head:${flag(component(of("base"), "head").main.args, "--listen")!.split(":")[1]}`);
    expect(env.STRAND_METRICS).toMatch(/^0\.0\.0\.0:\d+$/);
    const mount = main.volumeMounts!.find((m) => m.mountPath === path.dirname(script))!;
    const cmName = pod.volumes!.find((v) => v.name === mount.name)!.configMap!.name;
    const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === cmName) as KubeObject & { data: Record<string, string> };
    expect(Object.keys(cm.data)).toContain(path.basename(script));
    expect(cm.data[path.basename(script)]).toBe(readFileSync(path.join(KUBE_DIR, "driver", path.basename(script)), "utf8"));
    // The script sits under the image's package (/app), where `import "strand"` resolves.
    expect(script.startsWith(`${image.final.instructions.filter((i) => i.keyword === "WORKDIR").at(-1)!.text}/`)).toBe(true);
  });

  test("the image reference is the same everywhere", () => {
    const images = new Set(everything().flatMap(([, objects]) => workloads(objects).flatMap((w) => [...w.pod.containers, ...(w.pod.initContainers ?? [])].map((c) => c.image))));
    expect([...images]).toEqual(["strand:dev"]);
  });
});

describe("Dockerfile", () => {
  test("the linter finds nothing, and finds a broken Dockerfile", () => {
    expect(lint()).toEqual([]);
    expect(lint("FROM node:20\nHEALTHCHECK --interval=x CMD true\nUSER\n").length).toBeGreaterThan(0);
  });

  test("builds in stages: dev dependencies to compile, production dependencies only in the image", () => {
    expect(image.stages.length).toBeGreaterThanOrEqual(2);
    for (const s of image.stages) expect(s.from).toMatch(/^node:20-[a-z]+-slim$/);
    const runs = (s: (typeof image.stages)[number]): string => s.instructions.filter((i) => i.keyword === "RUN").map((i) => i.text).join("\n");
    expect(image.stages.some((s) => /npm ci(?!.*--omit)/.test(runs(s)) && /npm run build/.test(runs(s)))).toBe(true);
    const copies = image.final.instructions.filter((i) => i.keyword === "COPY").map((i) => i.text);
    const from = (stage: string | undefined): (typeof image.stages)[number] => image.stages.find((s) => s.name === stage)!;
    const modules = copies.find((c) => /node_modules/.test(c))!;
    expect(runs(from(/--from=(\S+)/.exec(modules)?.[1]))).toMatch(/npm ci --omit=dev/);
    expect(runs(image.final)).not.toMatch(/npm (ci|install)/);
  });

  test("runs as a numeric non-root user, under tini, with strand on the PATH", () => {
    expect(image.user).toMatch(/^[1-9]\d*(:\d+)?$/);
    const [init, dashdash, strand] = image.entrypoint;
    expect(init).toBe("/usr/bin/tini");
    expect(dashdash).toBe("--");
    expect(strand).toBe("strand");
    const runs = image.final.instructions.filter((i) => i.keyword === "RUN").map((i) => i.text).join("\n");
    expect(runs).toMatch(/apt-get install[^\n]*\btini\b/);
    // `strand` is the package's bin, linked onto the PATH.
    const pkg = JSON.parse(readFileSync(path.join(KUBE_DIR, "../../package.json"), "utf8")) as { bin: { strand: string } };
    expect(runs).toContain(`ln -s /app/${pkg.bin.strand.replace(/^\.\//, "")} /usr/local/bin/strand`);
    expect(image.cmd[0]).toBe("runner");
  });

  test("HEALTHCHECK asks /healthz on the health port its default command serves, in exec form", () => {
    const hc = image.healthcheck!;
    expect(hc.cmd[0]).toBe("node");
    expect(hc.cmd.join(" ")).toContain("/healthz");
    expect(hc.cmd.join(" ")).toContain("STRAND_HEALTH_PORT");
    expect(flag(image.cmd, "--health")).toBe(`0.0.0.0:${image.env.STRAND_HEALTH_PORT}`);
    expect(Number.parseInt(hc.flags.timeout!)).toBeLessThan(Number.parseInt(hc.flags.interval!));
  });

  test(".dockerignore lets in what the Dockerfile copies, and nothing else is needed", () => {
    const ignore = readFileSync(path.join(KUBE_DIR, "../../.dockerignore"), "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
    expect(ignore[0]).toBe("*");
    const allowed = ignore.filter((l) => l.startsWith("!")).map((l) => l.slice(1).replace(/\/$/, ""));
    const sources = image.stages.flatMap((s) => s.instructions.filter((i) => i.keyword === "COPY" && !i.text.startsWith("--from")).flatMap((i) => i.text.split(/\s+/).slice(0, -1)));
    for (const src of sources) expect(allowed, src).toContain(src.replace(/\/$/, ""));
  });
});

describe("parseYaml", () => {
  test("reads every document of a multi-document stream, and refuses a broken one", () => {
    expect(parseYaml("a: 1\n---\nb: 2\n").length).toBe(2);
    expect(() => parseYaml("a: [1\n")).toThrow(/YAML/);
  });
});
