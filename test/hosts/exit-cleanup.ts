// Harness state that outlives a test process would outlive the test run too: namespaces,
// interfaces and processes in them stay until someone deletes them. Every piece registers
// a synchronous undo here, run on normal exit and on the signals that end a test worker.

const actions = new Set<() => void>();
let installed = false;

function runAll(): void {
  for (const a of [...actions].reverse()) {
    actions.delete(a);
    try {
      a();
    } catch {
      // best effort: the next action may still succeed
    }
  }
}

/** Registers `undo` to run if the process ends before `release()` is called. */
export function onExit(undo: () => void): { release(): void } {
  if (!installed) {
    installed = true;
    process.on("exit", runAll);
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
      process.once(sig, () => {
        runAll();
        process.kill(process.pid, sig); // the default action, now that our handler is gone
      });
    }
  }
  actions.add(undo);
  return { release: () => actions.delete(undo) };
}
