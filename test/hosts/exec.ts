import { execFile, execFileSync } from "node:child_process";

/** Runs a command (ip, tc, ...) and resolves with its stdout; rejects with its stderr in the message. */
export function run(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: "utf8" }, (err, stdout, stderr) => {
      if (err === null) resolve(stdout);
      else reject(new Error(`${cmd} ${args.join(" ")}: ${stderr.trim() || err.message}`));
    });
  });
}

/**
 * The same, synchronously, for cleanup in a process 'exit' handler (no event loop left
 * there). Failures are ignored: cleanup removes what it can.
 */
export function runQuietly(cmd: string, args: readonly string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
