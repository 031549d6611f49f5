import { Option } from "commander";
import { PROGRESS_ENV, PROGRESS_INTERVAL_ENV, progressFromEnv, type EnvProgress } from "../driver/observe/progress-env.ts";

// `--progress`, `--no-progress`, `--progress-interval`: the same for `strand run` and `strand mpirun`.
// Default: the live line when stderr is a terminal, plain lines every 5 s (and a last one) when not.

export interface ProgressFlags {
  /** true: the live line even if stderr is not a terminal; false: none; unset: STRAND_PROGRESS, else auto. */
  progress?: boolean;
  progressInterval?: number;
}

export const progressFlags = {
  on: () => new Option("--progress", "draw the live progress line on stderr even if it is not a terminal"),
  off: () => new Option("--no-progress", "no progress output (default: a live line on a terminal, else a plain line every 5 s)"),
  interval: () => new Option("--progress-interval <seconds>", "seconds between plain progress lines (default 5)").argParser((v) => {
    const n = Number(v);
    if (!(n > 0)) throw new Error(`--progress-interval wants a number of seconds > 0, got "${v}"`);
    return n;
  }),
};

/** The environment that tells the driver (connect() / local()) what to draw. */
export function progressEnv(o: ProgressFlags, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const style = o.progress === true ? "bar" : o.progress === false ? "off" : env[PROGRESS_ENV] || "auto";
  return { [PROGRESS_ENV]: style, ...(o.progressInterval !== undefined ? { [PROGRESS_INTERVAL_ENV]: String(o.progressInterval) } : {}) };
}

/** What to draw in this process (`strand mpirun` runs its cluster here), from the flags and the environment. */
export function progressChoice(o: ProgressFlags, env: NodeJS.ProcessEnv = process.env): EnvProgress | undefined {
  return progressFromEnv(progressEnv(o, env));
}
