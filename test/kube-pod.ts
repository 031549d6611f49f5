import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IJob } from "kubernetes-models/batch/v1/Job";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import type { KubeObject } from "./kube-render.ts";

// What the kubelet makes of a rendered pod template: the workloads and their containers,
// the flags in their args, and the environment and args after the kubelet's $(VAR)
// expansion, as the process would see them.

export interface Workload {
  object: KubeObject;
  /** The pod template's labels. */
  labels: Record<string, string>;
  pod: IPodSpec;
  /** The Strand process: the first container (head, runner or driver). */
  main: IContainer;
}

/** The Deployments and Jobs among `objects`. */
export function workloads(objects: KubeObject[]): Workload[] {
  return objects.filter((o) => o.kind === "Deployment" || o.kind === "Job").map((object) => {
    const template = (object as unknown as IDeployment | IJob).spec!.template;
    const pod = template.spec!;
    return { object, labels: template.metadata?.labels ?? {}, pod, main: pod.containers[0]! };
  });
}

/** The workload whose pods have this component label (head, runner, driver). */
export function component(objects: KubeObject[], name: string): Workload {
  const found = workloads(objects).filter((w) => w.labels["app.kubernetes.io/component"] === name);
  if (found.length !== 1) throw new Error(`expected one ${name} workload, found ${found.length}`);
  return found[0]!;
}

/** The value after `flag` in `args` (undefined when the flag is absent). */
export function flag(args: readonly string[] | undefined, name: string): string | undefined {
  const i = (args ?? []).indexOf(name);
  return i < 0 ? undefined : args![i + 1];
}

const SUFFIX: Record<string, number> = { m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/** A Kubernetes quantity ("500m", "2", "512Mi") as a number. */
export function quantity(q: string | number): number {
  if (typeof q === "number") return q;
  const m = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(q);
  if (m === null) throw new Error(`not a quantity: ${q}`);
  return Number(m[1]) * SUFFIX[m[2] ?? ""]!;
}

/** The kubelet's $(VAR) expansion: defined names are replaced, others kept, $$ escapes. */
export function expand(s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (all, name: string | undefined) => {
    if (name === undefined) return "$";
    return Object.hasOwn(env, name) ? env[name]! : all;
  });
}

/** Names in $(…) references of `s` (escaped $$(…) excluded). */
export function references(s: string): string[] {
  return [...s.replaceAll("$$", "").matchAll(/\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g)].map((m) => m[1]!);
}

export interface PodFacts {
  podIP: string;
  podName: string;
  namespace: string;
  /** Secret name -> key -> value. */
  secrets: Record<string, Record<string, string>>;
}

/**
 * A container's environment as the kubelet builds it: in order, each value expanded against
 * the ones before it; fieldRef, resourceFieldRef and secretKeyRef resolved from `facts` and
 * the container's resources (a missing secret or field throws, as the pod would not start).
 */
export function containerEnv(c: IContainer, facts: PodFacts): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = expand(e.value, env);
    else if (e.valueFrom?.fieldRef !== undefined) {
      const field = e.valueFrom.fieldRef.fieldPath;
      const v = { "status.podIP": facts.podIP, "metadata.name": facts.podName, "metadata.namespace": facts.namespace }[field];
      if (v === undefined) throw new Error(`env ${e.name}: field ${field} is not modelled here`);
      env[e.name] = v;
    } else if (e.valueFrom?.resourceFieldRef !== undefined) {
      const { resource, divisor } = e.valueFrom.resourceFieldRef;
      const [kind, name] = resource.split(".") as ["requests" | "limits", string];
      const q = c.resources?.[kind]?.[name];
      if (q === undefined) throw new Error(`env ${e.name}: ${resource} is not set (the kubelet would use the node's capacity)`);
      // The kubelet rounds up: half a core with divisor 1 is 1.
      env[e.name] = String(Math.ceil(quantity(q) / quantity(divisor ?? "1")));
    } else if (e.valueFrom?.secretKeyRef !== undefined) {
      const { name, key } = e.valueFrom.secretKeyRef;
      const v = facts.secrets[name!]?.[key];
      if (v === undefined) throw new Error(`env ${e.name}: no secret ${name} with key ${key}`);
      env[e.name] = v;
    } else throw new Error(`env ${e.name}: no value the test can resolve`);
  }
  return env;
}

/** The container's command line after expansion (args alone: the image's entrypoint runs them). */
export function containerArgs(c: IContainer, env: Record<string, string>): string[] {
  return (c.args ?? []).map((a) => expand(a, env));
}
