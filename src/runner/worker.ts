import { pathToFileURL } from "node:url";
import { move, transferableSymbol, valueSymbol } from "piscina";
import { ImportError } from "../errors.ts";
import { decodeValue, encodeValue, type Encoded } from "../protocol/codec.ts";
import type { BatchOutcome, CallOutcome, CallTask } from "./task.ts";

// Runs on a worker thread: loads bundles by path (once per thread) and runs calls.
// Results are encoded here, so the runner's main thread only moves bytes.

type ModuleNamespace = Record<string, unknown>;
const modules = new Map<string, Promise<ModuleNamespace>>();
let loads = 0;

function load(path: string): Promise<ModuleNamespace> {
  let m = modules.get(path);
  if (m === undefined) {
    loads++;
    m = import(pathToFileURL(path).href) as Promise<ModuleNamespace>;
    modules.set(path, m);
    m.catch(() => modules.delete(path)); // a failed load may be retried by a later call
  }
  return m;
}

function encodeThrown(thrown: unknown): Encoded {
  const err = thrown instanceof Error ? thrown : Object.assign(new Error(`non-error value thrown: ${String(thrown)}`), { name: "NonErrorThrown" });
  try {
    return encodeValue(err, "error");
  } catch {
    // Its cause or fields cannot travel: send what can.
    const plain = new Error(err.message);
    plain.name = err.name;
    plain.stack = err.stack ?? "";
    return encodeValue(plain, "error");
  }
}

async function runOne(task: CallTask): Promise<CallOutcome> {
  const t0 = performance.now();
  let enc: Encoded;
  let ok = false;
  try {
    let ns: ModuleNamespace;
    try {
      ns = await load(task.modulePath);
    } catch (err) {
      throw new ImportError(`cannot load module: ${(err as Error).message}`, { cause: err });
    }
    const fn = ns[task.exportName];
    if (typeof fn !== "function") {
      throw new ImportError(fn === undefined ? `module has no export "${task.exportName}"` : `export "${task.exportName}" is a ${typeof fn}, not a function`);
    }
    const [body, ...attachments] = task.segments;
    const args = decodeValue(body!, attachments) as unknown[];
    const value: unknown = await (fn as (...a: unknown[]) => unknown)(...args);
    enc = encodeValue(value, "result");
    ok = true;
  } catch (err) {
    enc = encodeThrown(err);
  }
  // Attachments may be views of memory the user code keeps: copy them out so the
  // transfer below never detaches the user's buffers (one memcpy, no re-encoding).
  const segments = [enc.body, ...enc.attachments.map((a) => a.slice())];
  return { id: task.id, ok, segments, execMicros: Math.round((performance.now() - t0) * 1000) };
}

export default async function runBatch(tasks: CallTask[]): Promise<unknown> {
  const before = loads;
  const outcomes = tasks.length === 1 ? [await runOne(tasks[0]!)] : await Promise.all(tasks.map(runOne));
  const result: BatchOutcome = { outcomes, loads: loads - before };
  const buffers = new Set<ArrayBufferLike>();
  for (const o of outcomes) for (const s of o.segments) buffers.add(s.buffer);
  return move({
    get [transferableSymbol]() { return [...buffers]; },
    get [valueSymbol]() { return result; },
  } as unknown as ArrayBuffer);
}
