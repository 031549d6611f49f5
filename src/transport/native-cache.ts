import { readdirSync, rmSync, statSync, utimesSync } from "node:fs";
import path from "node:path";

// The folder of built native addons ($XDG_CACHE_HOME/strand/native) gains one file per addon
// source and Node ABI, and a half-written `.tmp` for every build a killed process left. Nobody
// else removes them, so a machine that upgrades Node or Strand keeps every old build forever.
// A build another Node version on the same host still loads must survive (nvm users switch
// back and forth), so a file is removed only when no process has loaded it for STALE_MS: a
// load marks its file used (its mtime, at most once a day).

/** A build not loaded for this long is removed when another is built. */
export const STALE_MS = 30 * 24 * 3600 * 1000;
/** A `.tmp` this old belongs to a build that died (a build takes seconds). */
export const TMP_STALE_MS = 3600 * 1000;
const MARK_EVERY_MS = 24 * 3600 * 1000;

/** Marks `file` as used now, unless it was marked in the last day. */
export function markUsed(file: string, now = Date.now()): void {
  try {
    if (now - statSync(file).mtimeMs > MARK_EVERY_MS) utimesSync(file, now / 1000, now / 1000);
  } catch {
    // Marking is a hint for pruning: a read-only cache still loads.
  }
}

/**
 * Removes from `dir` the builds of `prefix` other than `keep` not used for STALE_MS, and
 * `.tmp` leftovers older than TMP_STALE_MS. Returns the names removed.
 */
export function pruneBuilds(dir: string, prefix: string, keep: string, now = Date.now()): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || name === path.basename(keep)) continue;
    const file = path.join(dir, name);
    try {
      const age = now - statSync(file).mtimeMs;
      if (age > (name.endsWith(".tmp") ? TMP_STALE_MS : STALE_MS)) {
        rmSync(file, { force: true });
        removed.push(name);
      }
    } catch {
      // Another process removed it first.
    }
  }
  return removed;
}
