import { pathToFileURL } from "node:url";
import { move, transferableSymbol, valueSymbol } from "piscina";
import { ImportError } from "../errors.ts";
import { decodeValue, encodeValue, type Encoded } from "../protocol/codec.ts";
import { packOutcomes, unpackTasks, type TaskBatch } from "./batch.ts";
import type { CallOutcome, CallTask } from "./task.ts";

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
  const segments = [enc.body, ...enc.attachments];
  return { id: task.id, ok, segments, execMicros: Math.round((performance.now() - t0) * 1000) };
}

export default async function runBatch(batch: TaskBatch): Promise<unknown> {
  const before = loads;
  const tasks = unpackTasks(batch);
  const outcomes = tasks.length === 1 ? [await runOne(tasks[0]!)] : await Promise.all(tasks.map(runOne));
  // packOutcomes copies every result segment: the transfer never detaches a buffer
  // the user's code still holds.
  const { batch: out, transfer } = packOutcomes(outcomes, loads - before);
  return move({
    get [transferableSymbol]() { return transfer; },
    get [valueSymbol]() { return out; },
  } as unknown as ArrayBuffer);
}
