import { statSync } from "node:fs";
import type { Graph, GraphInput } from "../graph.ts";

// Bytes a build moves, from its plan, two ways. Strand: each runner receives each input it
// does not already hold, once (its file cache is content-addressed), and the driver fetches
// the binary. DistGo: before each topological level, the build folder is synced to every
// worker; with rsync that sends each worker every file made since the last sync by someone
// else (a lower bound on a whole-folder copy), and the module's sources go to every worker
// (its workers have GOROOT installed, so standard-library sources do not move).

export type ByteKind = "goroot sources" | "module sources" | "generated" | "packages" | "binary";
export type Bytes = Record<ByteKind, number>;

const none = (): Bytes => ({ "goroot sources": 0, "module sources": 0, generated: 0, packages: 0, binary: 0 });

export const totalBytes = (b: Bytes): number => Object.values(b).reduce((s, n) => s + n, 0);

/** The topological level of each action: 0 for an action that needs no other, else one more than its deepest input. */
export function levels(graph: Graph): Map<string, number> {
  const byId = new Map(graph.actions.map((a) => [a.id, a]));
  const memo = new Map<string, number>();
  const level = (id: string): number => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    const a = byId.get(id)!;
    const ins = Object.values(a.inputs).flatMap((i) => ("action" in i ? [i.action] : []));
    const l = ins.length === 0 ? 0 : 1 + Math.max(...ins.map(level));
    memo.set(id, l);
    return l;
  };
  for (const a of graph.actions) level(a.id);
  return memo;
}

export interface Sizes {
  /** The size of an action's output. */
  output(action: string, output: string): number;
}

function inputKey(i: GraphInput): string {
  if ("file" in i) return `file:${i.file}`;
  if ("dir" in i) return `dir:${i.dir}`;
  if ("action" in i) return `out:${i.action}\n${i.output}`;
  return `bytes:${i.bytes}`;
}

function kindOf(i: GraphInput, goroot: string): ByteKind {
  if ("file" in i || "dir" in i) return ("file" in i ? i.file : i.dir).startsWith(goroot + "/") ? "goroot sources" : "module sources";
  if ("bytes" in i) return "generated";
  return "packages";
}

function sizeOf(i: GraphInput, sizes: Sizes): number {
  if ("file" in i) return statSync(i.file).size;
  if ("dir" in i) return 0;
  if ("bytes" in i) return Buffer.from(i.bytes, "base64").length;
  return sizes.output(i.action, i.output);
}

/** Bytes Strand moves when action `id` runs on `placement.get(id)`: each runner's missing inputs once; the binary once to the driver. */
export function strandBytes(graph: Graph, goroot: string, sizes: Sizes, placement: Map<string, string>, binary?: { action: string; output: string }): Bytes {
  const bytes = none();
  const made = new Map<string, string>(); // output key -> runner that made it
  for (const a of graph.actions) for (const o of a.outputs) made.set(inputKey({ action: a.id, output: o }), placement.get(a.id)!);
  const held = new Map<string, Set<string>>();
  for (const a of graph.actions) {
    const runner = placement.get(a.id)!;
    const has = held.get(runner) ?? new Set<string>();
    held.set(runner, has);
    for (const i of Object.values(a.inputs)) {
      const k = inputKey(i);
      // Generated files travel inside the action's request, whatever the cache holds.
      if ("bytes" in i) { bytes.generated += sizeOf(i, sizes); continue; }
      if (has.has(k) || made.get(k) === runner) continue;
      has.add(k);
      bytes[kindOf(i, goroot)] += sizeOf(i, sizes);
    }
  }
  if (binary !== undefined) bytes.binary += sizes.output(binary.action, binary.output);
  return bytes;
}

/** Bytes DistGo's level-by-level sync moves on `workers` workers, with actions spread round-robin within a level. */
export function distgoBytes(graph: Graph, goroot: string, sizes: Sizes, workers: number, binary?: { action: string; output: string }): Bytes {
  const bytes = none();
  const level = levels(graph);
  const depth = Math.max(0, ...level.values()) + 1;
  // The module's sources (and generated files) are in the build folder from the start: every worker gets them once.
  const seen = new Set<string>();
  for (const a of graph.actions) for (const i of Object.values(a.inputs)) {
    const k = inputKey(i);
    if (seen.has(k) || "action" in i) continue;
    seen.add(k);
    const kind = kindOf(i, goroot);
    if (kind === "goroot sources") continue;
    bytes[kind] += workers * sizeOf(i, sizes);
  }
  // The last level makes the binary, which only the driver fetches.
  for (let l = 0; l < depth - 1; l++) {
    const at = graph.actions.filter((a) => level.get(a.id) === l);
    // After level l, each worker gets what the other workers made in it.
    at.forEach((a, n) => {
      for (const o of a.outputs) {
        const size = sizes.output(a.id, o);
        for (let w = 0; w < workers; w++) if (w !== n % workers) bytes.packages += size;
      }
    });
  }
  if (binary !== undefined) bytes.binary += sizes.output(binary.action, binary.output);
  return bytes;
}
