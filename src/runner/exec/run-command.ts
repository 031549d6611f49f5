import { spawn } from "node:child_process";
import { constants } from "node:os";
import { CommandError, TimeoutError } from "../../errors.ts";

// Runs one command in its sandbox: a child process of the runner (the worker thread only
// waits on it), in a process group of its own so a timeout kills everything it started.

/** What a command may print before the rest is cut (stdout and stderr each): the head is kept, and the tail of stderr. */
const OUTPUT_MAX = 4 * 1024 * 1024;

export interface CommandRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Bytes kept of a stream: the head up to OUTPUT_MAX, and (for stderr) the last 8 KiB, where errors are. */
class Collected {
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tail = Buffer.alloc(0);
  private cut = 0;

  add(chunk: Buffer): void {
    if (this.headBytes < OUTPUT_MAX) {
      const take = chunk.subarray(0, OUTPUT_MAX - this.headBytes);
      this.head.push(take);
      this.headBytes += take.length;
      if (take.length === chunk.length) return;
      chunk = chunk.subarray(take.length);
    }
    this.cut += chunk.length;
    this.tail = Buffer.concat([this.tail, chunk]).subarray(-8192);
  }

  text(): string {
    const head = Buffer.concat(this.head).toString("utf8");
    return this.cut === 0 ? head : `${head}\n[... ${this.cut} bytes cut ...]\n${this.tail.toString("utf8")}`;
  }
}

export function runCommand(argv: string[], cwd: string, env: Record<string, string>, timeoutMs: number, label: string): Promise<CommandRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const out = new Collected();
    const err = new Collected();
    child.stdout.on("data", (c: Buffer) => out.add(c));
    child.stderr.on("data", (c: Buffer) => err.add(c));
    let timedOut = false;
    const timer = timeoutMs > 0 ? setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, timeoutMs) : undefined;
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (timer !== undefined) clearTimeout(timer);
      // The program is missing or not executable: as a shell would say it.
      const code = e.code === "ENOENT" ? 127 : 126;
      reject(new CommandError(argv, code, `${argv[0]}: ${e.code === "ENOENT" ? "command not found" : e.message}\n`));
    });
    child.on("close", (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      if (timedOut) return reject(new TimeoutError(label, timeoutMs));
      const exitCode = code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0));
      resolve({ exitCode, stdout: out.text(), stderr: err.text() });
    });
  });
}
