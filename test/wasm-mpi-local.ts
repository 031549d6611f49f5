import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { MessageChannel, Worker } from "node:worker_threads";
import type { MpiRequest } from "../src/runner/wasm/mpi/index.ts";
import { mpiExecutor } from "../src/runner/wasm/mpi/index.ts";
import { Communicator } from "../src/runner/spmd/communicator.ts";
import type { Endpoint } from "../src/runner/spmd/endpoint.ts";
import { Mailbox } from "../src/runner/spmd/mailbox.ts";

// Runs a C MPI program's ranks without runners: each rank's Wasm on a worker thread
// (fixtures/wasm-mpi-rank.ts), each rank's executor here over a real Communicator whose
// messages go between in-memory mailboxes. Tests the ABI end to end (imports, requests,
// executor, comm()'s algorithms) on any number of ranks in one process.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const run = promisify(execFile);

/** The same fixture compiled natively with Open MPI's mpicc. */
export async function compileNative(name: string, dir: string): Promise<string> {
  const out = path.join(dir, name.replace(/\.c$/, ".native"));
  await run("mpicc", ["-O2", path.join(root, "test/fixtures/wasm", name), "-o", out, "-lm"]);
  return out;
}

export interface RankOutcome {
  readonly exit?: number;
  readonly error?: { name: string; code?: string; message: string };
  readonly stdout: string;
}

function memoryEndpoints(n: number): Endpoint[] {
  const boxes = Array.from({ length: n }, () => new Mailbox());
  return boxes.map((box, rank) => ({
    job: "wasm-mpi-test",
    rank,
    size: n,
    send(dest: number, context: string, tag: number, value: unknown) {
      const bytes = ArrayBuffer.isView(value) ? value.byteLength : 0;
      boxes[dest]!.deliver({ context, source: rank, tag, value: structuredClone(value), bytes });
      return Promise.resolve();
    },
    receive: (context: string, source: number, tag: number) => box.receive(context, source, tag),
    waitFor: (context: string, source: number, tag: number) => box.post(context, source, tag),
    post: (context: string, source: number, tag: number) => box.post(context, source, tag),
    probe: (context: string, source: number, tag: number) => box.probe(context, source, tag),
    peek: (context: string, source: number, tag: number) => box.peek(context, source, tag),
  }) as unknown as Endpoint);
}

/**
 * Runs `n` ranks of a compiled program; once a rank fails, the others are stopped (as a job
 * aborts). Resolves with every rank's outcome and output.
 */
export async function runRanks(wasm: string, n: number, dir: string, args: string[] = []): Promise<RankOutcome[]> {
  const eps = memoryEndpoints(n);
  const workers: Worker[] = [];
  const outcomes = eps.map(async (ep, rank) => {
    const exec = mpiExecutor(Communicator.world(ep));
    const signal = new SharedArrayBuffer(4);
    const flag = new Int32Array(signal);
    const { port1, port2 } = new MessageChannel();
    const stdout = path.join(dir, `rank${rank}.out`);
    // A worker's entry is not loaded through tsx's hooks: a plain entry registers them, then
    // imports the rank's TypeScript.
    const entry = new URL("./fixtures/wasm-mpi-rank.ts", import.meta.url).href;
    const w = new Worker(`import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))}).then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`, {
      eval: true,
      workerData: { wasm, rank, size: n, args, stdout, signal, port: port2 },
      transferList: [port2],
    });
    workers.push(w);
    port1.on("message", (req: MpiRequest) => {
      exec.run(req).then(
        (r) => port1.postMessage({ value: r.value }, r.transfer ?? []),
        (err: Error) => port1.postMessage({ error: { name: err.name, message: err.message } }),
      ).finally(() => {
        Atomics.store(flag, 0, 1);
        Atomics.notify(flag, 0);
      });
    });
    const end = await new Promise<Omit<RankOutcome, "stdout">>((resolve) => {
      w.once("message", (m: Omit<RankOutcome, "stdout">) => resolve(m));
      w.once("error", (err) => resolve({ error: { name: err.name, message: err.message } }));
      w.once("exit", (code) => resolve({ error: { name: "Stopped", message: `worker exited (${code})` } }));
    });
    if (end.error !== undefined || end.exit !== 0) for (const other of workers) if (other !== w) void other.terminate();
    await w.terminate();
    port1.close();
    exec.close();
    return { ...end, stdout: await readFile(stdout, "utf8").catch(() => "") };
  });
  return Promise.all(outcomes);
}
