import { createHash } from "node:crypto";
import { BroadcastChannel } from "node:worker_threads";
import { capMemory } from "./module-bytes.ts";

// Compile once per runner, instantiate per rank. WebAssembly.compile of a big program takes
// tens of milliseconds of CPU (V8's baseline and optimizing tiers), and 50 ranks of one job on
// a runner would pay it 50 times. The runner's main thread keeps the compiled Modules by
// content hash; a worker thread asks it once per hash and keeps the answer too. A Module
// crosses threads by structured clone without recompiling (the compiled code is shared
// within the process), which is what lets one compile serve every thread.
//
// Requests go on the runner's `<channel>:wasm` BroadcastChannel, which only the main thread
// listens on; each answer goes on a channel named for that request, which only the asking
// thread listens on, so no thread receives, and copies, another's Module.

export const wasmChannelName = (threads: string): string => `${threads}:wasm`;

/** thread -> main: compile these bytes (capped at `maxPages`, when given) and answer on `reply`. */
interface CompileRequest { key: string; hash: string; maxPages: number | undefined; bytes: Uint8Array; reply: string }
/** main -> the asking thread. */
type CompileAnswer = { module: WebAssembly.Module } | { error: string };

const keyOf = (hash: string, maxPages: number | undefined): string => (maxPages === undefined ? hash : `${hash}/${maxPages}`);

function compileChecked(hash: string, bytes: Uint8Array, maxPages: number | undefined): Promise<WebAssembly.Module> {
  // The hash names the module in every thread's cache: bytes that do not match it would be
  // found under another program's name.
  const actual = createHash("sha256").update(bytes).digest("hex");
  if (actual !== hash) return Promise.reject(new Error(`the Wasm module's bytes do not match its hash ${hash.slice(0, 12)} (they hash to ${actual.slice(0, 12)})`));
  return WebAssembly.compile(maxPages === undefined ? bytes : capMemory(bytes, maxPages));
}

/** The runner's main thread: the Modules its threads asked for, compiled once each. */
export class WasmCompiles {
  private readonly modules = new Map<string, Promise<WebAssembly.Module>>();
  private readonly channel: BroadcastChannel;
  /** Compiles started (a failed one counts): `strand_runner_wasm_compiles_total`. */
  compiles = 0;

  constructor(threadsChannel: string) {
    this.channel = new BroadcastChannel(wasmChannelName(threadsChannel));
    this.channel.unref();
    this.channel.onmessage = (ev: unknown) => this.serve((ev as { data: CompileRequest }).data);
  }

  /** The Module for `hash` (capped at `maxPages`), compiled on the first request. */
  module(hash: string, bytes: Uint8Array, maxPages: number | undefined): Promise<WebAssembly.Module> {
    const key = keyOf(hash, maxPages);
    let m = this.modules.get(key);
    if (m === undefined) {
      this.compiles++;
      m = compileChecked(hash, bytes, maxPages);
      this.modules.set(key, m);
    }
    return m;
  }

  private serve(req: CompileRequest): void {
    const answer = (a: CompileAnswer): void => {
      const reply = new BroadcastChannel(req.reply);
      reply.postMessage(a);
      reply.close();
    };
    this.module(req.hash, req.bytes, req.maxPages).then(
      (module) => answer({ module }),
      (err: unknown) => answer({ error: err instanceof Error ? err.message : String(err) }),
    );
  }

  close(): void {
    this.channel.close();
  }
}

/** A worker thread's side: its own cache, in front of the main thread's. */
export class ThreadCompiles {
  private readonly modules = new Map<string, Promise<WebAssembly.Module>>();
  private requests = 0;

  /** `threadsChannel`: the runner's channel of threads; absent (a pool without lanes, in tests), the thread compiles for itself. */
  constructor(private readonly threadsChannel: string | undefined, private readonly threadId: number) {}

  module(hash: string, bytes: Uint8Array, maxPages?: number): Promise<WebAssembly.Module> {
    const key = keyOf(hash, maxPages);
    let m = this.modules.get(key);
    if (m === undefined) {
      m = this.threadsChannel === undefined ? compileChecked(hash, bytes, maxPages) : this.ask(key, hash, bytes, maxPages);
      this.modules.set(key, m);
      // A failure is not kept: the next rank asks again (and the main thread answers from its cache).
      m.catch(() => this.modules.delete(key));
    }
    return m;
  }

  private ask(key: string, hash: string, bytes: Uint8Array, maxPages: number | undefined): Promise<WebAssembly.Module> {
    const reply = `${this.threadsChannel!}:wasm:${this.threadId}:${++this.requests}`;
    const answers = new BroadcastChannel(reply);
    return new Promise<WebAssembly.Module>((resolve, reject) => {
      answers.onmessage = (ev: unknown) => {
        answers.close();
        const a = (ev as { data: CompileAnswer }).data;
        if ("module" in a) resolve(a.module);
        else reject(new Error(a.error));
      };
      const ask = new BroadcastChannel(wasmChannelName(this.threadsChannel!));
      ask.postMessage({ key, hash, maxPages, bytes, reply } satisfies CompileRequest);
      ask.close();
    });
  }
}
