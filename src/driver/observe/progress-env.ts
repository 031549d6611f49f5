import { BAR_INTERVAL_MS, LINES_INTERVAL_MS, resolveStyle, showProgress, type ProgressDisplay } from "./progress-display.ts";
import type { ProgressStyle } from "./progress-line.ts";
import { mergeSnapshots, type Progress } from "./progress.ts";

// `strand run` draws the progress of clusters made by a script in another process: it says so in
// the script's environment, and connect() / local() there attach each cluster they make to one
// display for the process (several clusters add up on one line).

/** What STRAND_PROGRESS asks for: `bar`, `lines`, `auto` (bar on a terminal, else lines) or off. */
export const PROGRESS_ENV = "STRAND_PROGRESS";
/** Seconds between lines (`lines`), or least seconds between redraws (`bar`). */
export const PROGRESS_INTERVAL_ENV = "STRAND_PROGRESS_INTERVAL";

export interface EnvProgress {
  style: ProgressStyle;
  intervalMs: number;
}

/** The display the environment asks for, or undefined (unset, empty, `off`, `0`, `false`, `no`). */
export function progressFromEnv(env: NodeJS.ProcessEnv = process.env, stream: NodeJS.WriteStream = process.stderr): EnvProgress | undefined {
  const v = (env[PROGRESS_ENV] ?? "").trim().toLowerCase();
  if (["", "off", "0", "false", "no", "none"].includes(v)) return undefined;
  const style = v === "bar" || v === "lines" ? v : resolveStyle("auto", stream);
  const seconds = Number(env[PROGRESS_INTERVAL_ENV]);
  const intervalMs = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : style === "bar" ? BAR_INTERVAL_MS : LINES_INTERVAL_MS;
  return { style, intervalMs };
}

/** The process's display and the views it adds up: one line for every cluster. */
let shown: { display: ProgressDisplay; views: Progress[] } | undefined;

/** Draws `view` (with the other views attached so) until every one of them has ended. */
export function showInProcess(view: Progress, how: EnvProgress, label = "strand"): void {
  let mine = shown;
  if (mine === undefined) {
    const views = [view];
    mine = shown = { views, display: showProgress(() => mergeSnapshots(views.map((v) => v.snapshot())), { style: how.style, label, intervalMs: how.intervalMs }) };
  } else {
    mine.views.push(view);
  }
  const these = mine;
  view.onEnd(() => {
    if (!these.views.every((v) => v.stopped)) return;
    if (shown === these) shown = undefined;
    these.display.stop(mergeSnapshots(these.views.map((v) => v.snapshot())));
  });
}

/** connect() / local(): shows the cluster's progress if the environment asks for it (`strand run`). */
export function showProgressFromEnv(cluster: { progress(): Progress }): void {
  const how = progressFromEnv();
  if (how !== undefined) showInProcess(cluster.progress(), how);
}
