import path from "node:path";
import { fileURLToPath } from "node:url";

// A remote error's stack, as the driver shows it: the user's frames, named by the source
// maps of the bundle (files on the driver's machine, absolute: see bundle.ts), without the
// runner's own frames below them (the code that called the function: this folder, piscina).

/** The runner's own code: this file's folder (src/runner, dist/runner, or a dev runner's bundle). */
const RUNNER_DIR = path.dirname(fileURLToPath(import.meta.url)) + path.sep;
const PISCINA = `${path.sep}node_modules${path.sep}piscina${path.sep}`;

const isFrame = (line: string): boolean => line.startsWith("    at ");
const isRunnerFrame = (line: string): boolean => isFrame(line) && (line.includes(RUNNER_DIR) || line.includes(PISCINA));
/** Frames with no file of the user's (`Promise.all`, `Array.map`, Node's own): kept only between the user's frames. */
const isPlumbing = (line: string): boolean => isFrame(line) && (/\((index \d+|<anonymous>|node:[^)]*)\)$/.test(line) || /^ {4}at (async )?node:/.test(line));

/** The stack without the frames from the first one of the runner's on (and the plumbing just above it). */
export function userStack(stack: string): string {
  const lines = stack.split("\n");
  let cut = lines.findIndex(isRunnerFrame);
  if (cut === -1) return stack;
  while (cut > 0 && isPlumbing(lines[cut - 1]!)) cut--;
  // Nothing of the user's at all (the runner threw): keep it whole.
  if (!lines.slice(0, cut).some(isFrame)) return stack;
  return lines.slice(0, cut).join("\n");
}

/** Trims the stacks of an error about to be sent, and of its causes. */
export function trimStacks(err: Error): void {
  let e: unknown = err;
  for (let depth = 0; depth < 8 && e instanceof Error; depth++, e = e.cause) {
    try {
      if (typeof e.stack === "string") e.stack = userStack(e.stack);
    } catch {
      // a stack that cannot be set stays as it is
    }
  }
}
