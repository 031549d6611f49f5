import { spawn } from "node:child_process";
import { constants } from "node:os";
import { CommandError, TimeoutError } from "../../errors.ts";
import { Collected, type CommandRun } from "./command-output.ts";

export type { CommandRun };

// Runs one command in its sandbox: a child process of the runner (the worker thread only
// waits on it), in a process group of its own so a timeout kills everything it started.
// Where perl is found, commands go through a spawn helper instead (spawn-helper.ts): this is
// the fallback, which forks the whole runner process for each command.

export function runCommand(argv: string[], cwd: string, env: Record<string, string>, timeoutMs: number, label: string, stdoutToStderr = false): Promise<CommandRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const out = new Collected();
    const err = new Collected();
    // Merged as it arrives (the helper hands the command one descriptor for both instead).
    child.stdout.on("data", (c: Buffer) => (stdoutToStderr ? err : out).add(c));
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
      // What it left running in its group goes with it, as in spawn-helper.ts: the sandbox is about to be reused.
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // none left
      }
      if (timedOut) return reject(new TimeoutError(label, timeoutMs));
      const exitCode = code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0));
      resolve({ exitCode, stdout: out.text(), stderr: err.text() });
    });
  });
}
