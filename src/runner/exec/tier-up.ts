import { readFileSync } from "node:fs";
import v8 from "node:v8";

// A runner that runs commands tiers its JavaScript up at V8's default pace, not local()'s.
// local() starts runners with --interrupt-budget=8192 (driver/local.ts RUNNER_NODE_FLAGS): a
// call burst's hot path, run tens of thousands of times, is optimized by TurboFan sooner. A
// build's path (the exec runtime, the sandbox, node's fs and path functions) runs once per
// action, a few hundred times per runner: with that budget nearly every function on it was
// compiled by TurboFan, 594 compilations in one net/http build on 2 fresh runners (--trace-opt),
// ~0.4 s of CPU per runner on V8's background threads, taken from the compilers on the same
// cores, and the worker thread running the actions was no faster for it (same run, A/B: 830
// and 800 ms with V8's default budget, 850 and 810 ms with 8192). Measured per build (2 runners,
// loaded machine, session 28): V8's threads 0.42 / 0.41 s per runner with 8192 against 0.07 /
// 0.07 s with the default. Set once, when a thread first runs a command; V8's flags are the
// process's, so the call path of a runner that has run commands tiers up at the default pace
// too. A budget the user chose (node's command line after local()'s, NODE_OPTIONS) stays.

/** local()'s budget (driver/local.ts RUNNER_NODE_FLAGS; test/unit/exec-tier-up.test.ts checks they agree). */
export const LOCAL_RUNNER_BUDGET = "--interrupt-budget=8192";
/** V8's own default (node 20, V8 11.3). */
export const COMMANDS_BUDGET = "--interrupt-budget=67584";

let done = false;

/**
 * The budget flags given to this process: node's command line, then NODE_OPTIONS. On a worker
 * thread process.execArgv is the thread's (empty for the compiled runner's), so the process's
 * own command line is read where there is one (/proc).
 */
export function givenBudgets(execArgv: readonly string[] = processArgs(), nodeOptions = process.env["NODE_OPTIONS"] ?? ""): string[] {
  return [...execArgv, ...nodeOptions.split(/\s+/)].filter((a) => /^--interrupt[-_]budget=/.test(a));
}

function processArgs(): string[] {
  try {
    return readFileSync("/proc/self/cmdline", "latin1").split("\0");
  } catch {
    return process.execArgv;
  }
}

/** Whether a runner given `budgets` takes V8's default once it runs commands: only local()'s own budget is relaxed. */
export function relaxes(budgets: readonly string[]): boolean {
  return budgets.length === 1 && budgets[0] === LOCAL_RUNNER_BUDGET;
}

export function tierUpForCommands(): void {
  if (done) return;
  done = true;
  if (relaxes(givenBudgets())) v8.setFlagsFromString(COMMANDS_BUDGET);
}
