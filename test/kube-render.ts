import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { Job } from "kubernetes-models/batch/v1/Job";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Service } from "kubernetes-models/v1/Service";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import ts from "typescript";
import { parseAllDocuments } from "yaml";
import { repoRoot } from "./helpers.ts";

// The Kubernetes manifests as a cluster would receive them: every kustomization under
// deploy/kubernetes rendered by a real kustomize (kubectl's), then checked against the
// Kubernetes API's schemas, offline. Two checks, both from the schemas that
// kubernetes-models generates from the API's OpenAPI document: its validators (types,
// required fields, enums, formats), and TypeScript's excess-property check against its
// interfaces for the fields the validators let through (they allow unknown ones, which a
// real API server in strict mode, kubectl's default, refuses).

export const KUBE_DIR = path.join(repoRoot, "deploy/kubernetes");

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

interface Schema {
  validate(o: KubeObject): void;
  /** The module and interface TypeScript checks the object against. */
  type: [module: string, name: string];
}

const schema = <T>(Model: new (o: T) => { validate(): void }, module: string, name: string): Schema => ({
  validate: (o) => new Model(o as T).validate(),
  type: [module, name],
});

/** The kinds the manifests may use: anything else fails the check (no schema, no pass). */
const SCHEMAS: Record<string, Schema> = {
  "v1/Service": schema(Service, "kubernetes-models/v1/Service", "IService"),
  "v1/ConfigMap": schema(ConfigMap, "kubernetes-models/v1/ConfigMap", "IConfigMap"),
  "apps/v1/Deployment": schema(Deployment, "kubernetes-models/apps/v1/Deployment", "IDeployment"),
  "batch/v1/Job": schema(Job, "kubernetes-models/batch/v1/Job", "IJob"),
  "policy/v1/PodDisruptionBudget": schema(PodDisruptionBudget, "kubernetes-models/policy/v1/PodDisruptionBudget", "IPodDisruptionBudget"),
  "autoscaling/v2/HorizontalPodAutoscaler": schema(HorizontalPodAutoscaler, "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler", "IHorizontalPodAutoscaler"),
  "keda.sh/v1alpha1/ScaledObject": schema(ScaledObject, "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject", "IScaledObject"),
};

/** kubectl's version line and its kustomize's, or undefined when there is no kubectl. */
export function kubectlVersion(): { kubectl: string; kustomize: string } | undefined {
  try {
    const v = JSON.parse(execFileSync("kubectl", ["version", "--client", "-o", "json"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })) as { clientVersion: { gitVersion: string }; kustomizeVersion: string };
    return { kubectl: v.clientVersion.gitVersion, kustomize: v.kustomizeVersion };
  } catch {
    return undefined;
  }
}

/** Every kustomization under deploy/kubernetes (components excluded), relative to it. */
export function kustomizations(dir = KUBE_DIR): string[] {
  const found: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) found.push(...kustomizations(p));
    else if (e.name === "kustomization.yaml" && !/^kind:\s*Component\s*$/m.test(readFileSync(p, "utf8"))) found.push(path.relative(KUBE_DIR, dir) || ".");
  }
  return found.sort();
}

/** `kubectl kustomize <dir>`, parsed. */
export function render(dir: string): KubeObject[] {
  const out = execFileSync("kubectl", ["kustomize", path.join(KUBE_DIR, dir)], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return parseYaml(out);
}

export function parseYaml(text: string): KubeObject[] {
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length > 0) throw new Error(`YAML: ${d.errors.map((e) => e.message).join("; ")}`);
    return d.toJS() as KubeObject;
  }).filter((o) => o !== null);
}

export const idOf = (o: KubeObject): string => `${o.kind}/${o.metadata.name}`;

/**
 * Every schema error of `objects`, as "where: Kind/name: message" lines (none: valid).
 * `where` names each object's origin (its kustomization) in the messages.
 */
export function schemaErrors(objects: { where: string; object: KubeObject }[]): string[] {
  const errors: string[] = [];
  const typed: { where: string; object: KubeObject; schema: Schema }[] = [];
  for (const { where, object } of objects) {
    const s = SCHEMAS[`${object.apiVersion}/${object.kind}`];
    if (s === undefined) {
      errors.push(`${where}: ${idOf(object)}: no schema for ${object.apiVersion} ${object.kind}`);
      continue;
    }
    try {
      s.validate(object);
    } catch (err) {
      errors.push(`${where}: ${idOf(object)}: ${(err as Error).message}`);
    }
    typed.push({ where, object, schema: s });
  }
  errors.push(...unknownFields(typed));
  return errors;
}

/**
 * Fields the API does not know, found by TypeScript: each object becomes an object literal
 * typed as its kind's interface, and a literal may only name known properties. Compiled in
 * memory, as a file at the repository root so that node_modules resolve.
 */
function unknownFields(objects: { where: string; object: KubeObject; schema: Schema }[]): string[] {
  if (objects.length === 0) return [];
  const modules = [...new Set(objects.map((o) => o.schema.type[0]))];
  const head = modules.map((m, i) => `import type * as m${i} from ${JSON.stringify(m)};`);
  const body = objects.map((o) => `void (${JSON.stringify(o.object)} satisfies m${modules.indexOf(o.schema.type[0])}.${o.schema.type[1]});`);
  const file = path.join(repoRoot, "__kubernetes_manifests__.ts");
  const text = [...head, ...body].join("\n");
  const options: ts.CompilerOptions = {
    strict: true, noEmit: true, skipLibCheck: true, types: [],
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, lang, ...rest) => (name === file ? ts.createSourceFile(name, text, lang) : getSourceFile.call(host, name, lang, ...rest));
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? text : readFile.call(host, name));
  const program = ts.createProgram([file], options, host);
  const source = program.getSourceFile(file)!;
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, " ");
    if (d.file !== source || d.start === undefined) return `TypeScript: ${message}`;
    const line = source.getLineAndCharacterOfPosition(d.start).line - head.length;
    const o = objects[line];
    if (o === undefined) return `TypeScript: ${message}`;
    return `${o.where}: ${idOf(o.object)}: ${message}`;
  });
}
