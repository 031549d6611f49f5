import { readFile } from "node:fs/promises";
import path from "node:path";
import { checkLayout, sandboxPath } from "../../protocol/sandbox-paths.ts";

// A command graph: actions (commands) whose inputs are files of this machine, bytes, or
// other actions' outputs, as `strand dag run` reads it from JSON and `strand go build` makes
// it from Go's plan. Checked whole before anything runs: ids, references, cycles, paths.

/** Where an input comes from. */
export type GraphInput =
  /** A file of the driver's machine (in JSON: relative to the graph file). */
  | { file: string }
  /** A directory of the driver's machine: its files under the input's path. */
  | { dir: string }
  /** An output of another action. */
  | { action: string; output: string }
  /** Small generated files, base64. */
  | { bytes: string; executable?: boolean };

export interface GraphAction {
  id: string;
  argv: string[];
  env?: Record<string, string>;
  cwd?: string;
  tools?: string[];
  inputs: Record<string, GraphInput>;
  outputs: string[];
  timeout?: number;
  /** Go's build ID to stamp into one of the outputs after the command (as `go tool buildid -w`), by the runner: see ExecSpec.buildId. */
  buildId?: { path: string; id: string };
  /** `${sandbox}` and `${tooldir:go}` in argv replaced on the runner: see ExecSpec.expand. */
  expand?: boolean;
  /** The command's stdout sent where its stderr goes: see ExecSpec.stdoutToStderr. */
  stdoutToStderr?: boolean;
}

export interface Graph {
  actions: GraphAction[];
  /** Files the driver writes when the graph is done (`strand dag run`): local path -> an action's output. */
  results?: Record<string, { action: string; output: string }>;
}

/** A graph that does not hold together: an unknown action or output, a cycle, a duplicate id. */
export class GraphError extends TypeError {}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Reads a graph file: `file` and `dir` inputs become absolute, relative to the file. */
export async function loadGraph(file: string): Promise<Graph> {
  const text = await readFile(file, "utf8");
  let g: unknown;
  try {
    g = JSON.parse(text);
  } catch (err) {
    throw new GraphError(`${file}: not JSON: ${(err as Error).message}`);
  }
  if (!isObject(g) || !Array.isArray(g["actions"])) throw new GraphError(`${file}: a graph is { "actions": [...] }`);
  const base = path.dirname(path.resolve(file));
  const graph = g as unknown as Graph;
  for (const a of graph.actions) {
    if (!isObject(a) || !isObject(a.inputs)) continue; // validate() says what is wrong
    for (const inp of Object.values(a.inputs)) {
      if ("file" in inp && typeof inp.file === "string") inp.file = path.resolve(base, inp.file);
      if ("dir" in inp && typeof inp.dir === "string") inp.dir = path.resolve(base, inp.dir);
    }
  }
  validate(graph);
  return graph;
}

/**
 * Checks the graph and returns its actions in an order where every action comes after those
 * it reads from. Throws GraphError (or SandboxError for a path that would leave a sandbox).
 */
export function validate(graph: Graph): GraphAction[] {
  if (!isObject(graph) || !Array.isArray(graph.actions)) throw new GraphError("a graph is { actions: [...] }");
  const byId = new Map<string, GraphAction>();
  for (const a of graph.actions) {
    if (!isObject(a) || typeof a.id !== "string" || a.id === "") throw new GraphError("every action needs an id (a non-empty string)");
    if (byId.has(a.id)) throw new GraphError(`two actions have the id ${JSON.stringify(a.id)}`);
    if (!Array.isArray(a.argv) || a.argv.length === 0 || !a.argv.every((x) => typeof x === "string")) throw new GraphError(`action ${a.id}: argv must be a non-empty list of strings`);
    if (!isObject(a.inputs)) throw new GraphError(`action ${a.id}: inputs must be an object (sandbox path -> source)`);
    if (!Array.isArray(a.outputs) || !a.outputs.every((o) => typeof o === "string")) throw new GraphError(`action ${a.id}: outputs must be a list of paths`);
    if (a.env !== undefined && (!isObject(a.env) || !Object.values(a.env).every((v) => typeof v === "string"))) throw new GraphError(`action ${a.id}: env must map names to strings`);
    if (a.tools !== undefined && (!Array.isArray(a.tools) || !a.tools.every((t) => typeof t === "string"))) throw new GraphError(`action ${a.id}: tools must be a list of strings`);
    checkLayout(Object.keys(a.inputs).map((p) => sandboxPath(p)), a.outputs.map((p) => sandboxPath(p)));
    if (a.cwd !== undefined) sandboxPath(a.cwd, true);
    if (a.buildId !== undefined && (!isObject(a.buildId) || typeof a.buildId.id !== "string" || a.buildId.id === "" || typeof a.buildId.path !== "string" || !a.outputs.map((o) => sandboxPath(o)).includes(sandboxPath(a.buildId.path)))) {
      throw new GraphError(`action ${a.id}: buildId must be { path: one of its outputs, id: the build ID its tool wrote }`);
    }
    for (const flag of ["expand", "stdoutToStderr"] as const) {
      if (a[flag] !== undefined && typeof a[flag] !== "boolean") throw new GraphError(`action ${a.id}: ${flag} must be true or false`);
    }
    byId.set(a.id, a);
  }
  const output = (from: string, ref: { action: string; output: string }): void => {
    const p = byId.get(ref.action);
    if (p === undefined) throw new GraphError(`${from} reads from action ${JSON.stringify(ref.action)}, which the graph does not have`);
    if (!p.outputs.map((o) => sandboxPath(o)).includes(sandboxPath(ref.output))) throw new GraphError(`${from} reads ${JSON.stringify(ref.output)}, which action ${ref.action} does not declare as an output`);
  };
  for (const a of byId.values()) {
    for (const [p, inp] of Object.entries(a.inputs)) {
      if (!isObject(inp)) throw new GraphError(`action ${a.id}: input ${p} must be { file }, { dir }, { action, output } or { bytes }`);
      if ("action" in inp) output(`action ${a.id} (input ${p})`, inp);
      else if (!("file" in inp && typeof inp.file === "string") && !("dir" in inp && typeof inp.dir === "string") && !("bytes" in inp && typeof inp.bytes === "string")) {
        throw new GraphError(`action ${a.id}: input ${p} must be { file }, { dir }, { action, output } or { bytes }`);
      }
    }
  }
  for (const [p, r] of Object.entries(graph.results ?? {})) output(`result ${p}`, r);
  // Kahn's algorithm: what is left over is on a cycle.
  const waiting = new Map<string, number>();
  const readers = new Map<string, string[]>();
  for (const a of byId.values()) {
    const deps = new Set(dependencies(a));
    waiting.set(a.id, deps.size);
    for (const d of deps) readers.set(d, [...(readers.get(d) ?? []), a.id]);
  }
  const order: GraphAction[] = [];
  const ready = [...byId.keys()].filter((id) => waiting.get(id) === 0);
  while (ready.length > 0) {
    const id = ready.pop()!;
    order.push(byId.get(id)!);
    for (const r of readers.get(id) ?? []) {
      const n = waiting.get(r)! - 1;
      waiting.set(r, n);
      if (n === 0) ready.push(r);
    }
  }
  if (order.length < byId.size) {
    const stuck = [...waiting].filter(([, n]) => n > 0).map(([id]) => id);
    throw new GraphError(`the graph has a cycle through ${stuck.slice(0, 5).join(", ")}${stuck.length > 5 ? ", ..." : ""}`);
  }
  return order;
}

/** The actions `a` reads outputs of. */
export function dependencies(a: GraphAction): string[] {
  return [...new Set(Object.values(a.inputs).flatMap((i) => ("action" in i ? [i.action] : [])))];
}
