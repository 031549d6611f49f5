import { existsSync, watch } from "node:fs";
import { readdir } from "node:fs/promises";

// Waiting for a file a command makes (a blocking command saying it started, a gate opened),
// on the event where one exists: the exec tests never sleep a guessed time.

/** Resolves once `dir` holds `name` (watched). */
export function appears(dir: string, name: string): Promise<void> {
  return new Promise((resolve) => {
    const w = watch(dir, () => check());
    const check = (): void => {
      void readdir(dir).then((names) => {
        if (!names.includes(name)) return;
        w.close();
        resolve();
      });
    };
    check();
  });
}

/** Resolves once `file` exists (polled: its folder may not exist yet either, so nothing to watch). */
export async function exists(file: string): Promise<void> {
  while (!existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 10));
}
