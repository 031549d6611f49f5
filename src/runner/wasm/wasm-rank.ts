import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
import { comm } from "../../comm.ts";
import { context } from "../../context.ts";
import { reviveStrandError, WasmExitError, WasmImportError, WasmTrapError } from "../../errors.ts";
import { Communicator } from "../spmd/communicator.ts";
import { mpiExecutor } from "./mpi/index.ts";
import type { ThreadCompiles } from "./compile-cache.ts";
import { WASM_PAGE } from "./module-bytes.ts";
import { answer, type FromWasm, type WasmThreadData } from "./thread-link.ts";

// One Wasm rank, on its rank thread (a runner worker thread running the rank's call, with
// comm() set). The program runs on a thread of its own, the Wasm thread (wasm-thread.ts),
// because its MPI calls are blocking imports while comm() needs this thread's event loop.
// This side answers the program's requests with mpiExecutor, writes its output as the
// rank's own (the driver prints it prefixed by rank), and settles with how it ended.

/** What the generated entry of `cluster.spmd(n, "prog.wasm")` hands the runner for each rank. */
export interface WasmRankSpec {
  /** SHA-256 of `bytes`, hex: the compile cache's key. */
  hash: string;
  bytes: Uint8Array;
  /** argv[0]: the program's file name. */
  name: string;
  args: string[];
  /** The program's whole environment: nothing of the runner's is passed. */
  env: Record<string, string>;
  /** The rank's linear memory limit (default DEFAULT_WASM_MEMORY_MIB). */
  memoryMiB?: number;
}

/** The default per-rank limit on linear memory: 1 GiB (wasm32 allows 4). */
export const DEFAULT_WASM_MEMORY_MIB = 1024;

const fromSource = import.meta.url.endsWith(".ts");
const threadFile = new URL(`./wasm-thread${fromSource ? ".ts" : ".js"}`, import.meta.url);

function execArgv(): string[] {
  if (!fromSource) return [];
  if (process.execArgv.some((a) => a.includes("tsx"))) return process.execArgv;
  return [...process.execArgv, "--import", import.meta.resolve("tsx")];
}

function checkSpec(s: WasmRankSpec): number {
  const mib = s.memoryMiB ?? DEFAULT_WASM_MEMORY_MIB;
  if (!Number.isInteger(mib) || mib < 1 || mib > 4096) throw new RangeError(`the Wasm memory limit must be 1..4096 MiB, got ${String(mib)}`);
  return (mib * 1024 * 1024) / WASM_PAGE;
}

/**
 * A stream of the program's bytes as the rank's text: each line tagged `[rank r] ` (the
 * driver adds the function and runner, as for any call), UTF-8 decoded across writes.
 */
class RankLines {
  private readonly decoder = new TextDecoder();
  private atStart = true;
  private readonly tag: string;
  constructor(rank: number, private readonly to: NodeJS.WritableStream) {
    this.tag = `[rank ${rank}] `;
  }

  write(bytes: Uint8Array): void {
    this.put(this.decoder.decode(bytes, { stream: true }));
  }

  /** The program ended: a last line without its newline still goes out. */
  end(): void {
    this.put(this.decoder.decode());
    if (!this.atStart) this.put("\n");
  }

  private put(text: string): void {
    if (text === "") return;
    let tagged = (this.atStart ? this.tag : "") + text.replaceAll("\n", `\n${this.tag}`);
    this.atStart = text.endsWith("\n");
    if (this.atStart) tagged = tagged.slice(0, -this.tag.length);
    this.to.write(tagged);
  }
}

export async function runWasmRank(spec: WasmRankSpec, compiles: ThreadCompiles): Promise<number> {
  const world = comm();
  const maxPages = checkSpec(spec);
  const module = await compiles.module(spec.hash, spec.bytes, maxPages);
  const { port1, port2 } = new MessageChannel();
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const data: WasmThreadData = {
    module, rank: world.rank, size: world.size, argv: [spec.name, ...spec.args], env: spec.env, port: port2, flag: flag.buffer as SharedArrayBuffer,
  };
  const worker = new Worker(threadFile, { workerData: data, transferList: [port2], execArgv: execArgv(), stdout: true, stderr: true });
  const executor = mpiExecutor(world);
  const out = { 1: new RankLines(world.rank, process.stdout), 2: new RankLines(world.rank, process.stderr) };
  const signal = context().signal;
  // A rank computing (not in an MPI call) when another one fails is stopped at once, not at
  // its next call: nothing it could still do would be used.
  const jobAborted = world instanceof Communicator ? world.jobAborted : undefined;

  return new Promise<number>((resolve, reject) => {
    let settled = false;
    const finish = (err: unknown, code = 0): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      jobAborted?.removeEventListener("abort", onJobAborted);
      executor.close();
      port1.close();
      // Also a program blocked in a request whose answer will never come (the job aborted).
      void worker.terminate();
      if (err === undefined) resolve(code);
      else reject(err);
    };
    const onAbort = (): void => finish(signal.reason ?? new Error("the rank's call was cancelled"));
    const onJobAborted = (): void => finish(jobAborted!.reason);
    signal.addEventListener("abort", onAbort);
    if (jobAborted?.aborted === true) return onJobAborted();
    jobAborted?.addEventListener("abort", onJobAborted);

    // One-way requests still running (sends): the program may end before they do, and a failed
    // one must still fail the rank, so how the program ended is settled after them.
    const posted = new Set<Promise<unknown>>();
    let ending = false;
    const afterPosted = (f: () => void): void => {
      ending = true;
      if (posted.size === 0) return f();
      void Promise.allSettled([...posted]).then(f);
    };
    const hear = (m: FromWasm): void => {
      if (settled) return;
      switch (m.t) {
        case "call":
          executor.run(m.req).then(
            (r) => {
              if (!settled) answer(port1, flag, r.value, r.transfer);
            },
            // The request failed (the job aborted, a peer was lost…): so does the rank. The
            // Wasm thread is left blocked and terminated, never unwound through the program.
            (err: unknown) => finish(err),
          );
          return;
        case "post": {
          const p = executor.run(m.req);
          posted.add(p);
          // Its failure wins over how the program ended: it happened first.
          p.then(() => posted.delete(p), (err: unknown) => finish(err));
          return;
        }
        case "out":
          out[m.fd].write(m.bytes);
          return;
        case "refused":
          return finish(new WasmImportError(spec.name, m.unknown));
        case "exit":
          flush();
          return afterPosted(() => (m.code === 0 ? finish(undefined, 0) : finish(new WasmExitError(world.rank, m.code))));
        case "trap":
          flush();
          return afterPosted(() => finish(new WasmTrapError(world.rank, m.message, m.stack)));
        case "error": {
          flush();
          // Where the program made the call (MPI_Abort, a bad buffer): its Wasm frames.
          const e = reviveStrandError(m.code, m.name, m.message, m.fields);
          if (m.stack !== "") e.stack = `${e.name}: ${e.message}\n    --- wasm stack (rank ${world.rank}) ---\n${m.stack}`;
          return afterPosted(() => finish(e));
        }
        case "thrown": {
          flush();
          const e = new Error(m.message);
          e.name = m.name;
          e.stack = m.stack;
          return afterPosted(() => finish(e));
        }
      }
    };
    const flush = (): void => {
      out[1].end();
      out[2].end();
    };
    port1.on("message", hear);
    worker.on("error", (err) => finish(err));
    worker.on("exit", (code) => {
      // Its last messages may still wait on the port: they say how it ended.
      for (let m = receiveMessageOnPort(port1); m !== undefined && !settled; m = receiveMessageOnPort(port1)) hear(m.message as FromWasm);
      if (ending) return;
      finish(new Error(`the Wasm thread of rank ${world.rank} died (exit code ${code}) before the program ended`));
    });
  });
}
