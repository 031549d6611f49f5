import { entryOfAnyRef } from "../objects/object-table.ts";
import type { ObjectEntry } from "../objects/object-entry.ts";
import { Ref } from "../objects/ref.ts";
import { BAR_INTERVAL_MS, resolveStyle, showProgress, type ProgressDisplay } from "./progress-display.ts";
import type { ProgressStyle } from "./progress-line.ts";
import { RateMeter, type ProgressSnapshot } from "./progress.ts";

export interface ItemsProgressOptions {
  /** Shown before the bar (default none). */
  label?: string;
  /** What the items are, after the count ("tiles": 3/10 tiles); default none. */
  unit?: string;
  /**
   * `"auto"` (default): the live line when the stream is a terminal, plain lines (every
   * `intervalMs`, default 5 s, and a last one) otherwise; `"bar"`, `"lines"`, `"none"`; or a
   * function, called instead of drawing with a snapshot at most every `intervalMs` (250) and
   * once more with the final one (`final: true`).
   */
  output?: ProgressStyle | "auto" | "none" | ((s: ProgressSnapshot) => void);
  /** Where to draw; default process.stderr. */
  stream?: NodeJS.WriteStream;
  intervalMs?: number;
  /** Adds "runners busy" to the line (the cluster the items run on). */
  cluster?: { readonly runners: readonly { readonly alive: boolean; readonly inFlight: number }[] };
}

/** What an item settles as: a Ref once its object is made (itself), anything else its awaited value. */
export type Settled<T> = T extends Ref<unknown> ? T : Awaited<T>;

/**
 * Shows how many of `items` have settled (tqdm's bar, dask's `progress()`) and resolves like
 * `Promise.all`: every item's value in order, or the first failure, at once (the line ends there,
 * with the counts of that moment). With `{ settled: true }` it waits for all and resolves like
 * `Promise.allSettled`. Items are promises (remote calls), Refs (`f.ref(...)`: waited for until
 * their object is made, not fetched; each settles as the Ref itself) or plain values (settled).
 */
export function progress<T>(items: Iterable<T>, options?: ItemsProgressOptions & { settled?: false }): Promise<Settled<T>[]>;
export function progress<T>(items: Iterable<T>, options: ItemsProgressOptions & { settled: true }): Promise<PromiseSettledResult<Settled<T>>[]>;
export function progress<T>(items: Iterable<T>, options: ItemsProgressOptions & { settled?: boolean } = {}): Promise<unknown[]> {
  const list = [...items];
  const total = list.length;
  const t0 = performance.now();
  const rate = new RateMeter();
  rate.start(t0);
  let done = 0;
  let failed = 0;
  const snapshot = (final: boolean): ProgressSnapshot => {
    const now = performance.now();
    let busy = 0;
    let live = 0;
    for (const r of options.cluster?.runners ?? []) {
      if (!r.alive) continue;
      live++;
      if (r.inFlight > 0) busy++;
    }
    return {
      submitted: total, done, failed, running: total - done - failed,
      rate: final ? rate.whole(done + failed) : rate.recent(now, done + failed),
      byFunction: {}, runnersBusy: busy, runners: live, elapsedMs: now - t0, final,
    };
  };
  const view = watch(snapshot, total, options);
  return new Promise<unknown[]>((resolve, reject) => {
    const results: unknown[] = new Array<unknown>(total);
    let over = false;
    const end = (): void => {
      over = true;
      view.stop(snapshot(true));
    };
    const settledOne = (): void => {
      rate.settled(performance.now());
      if (over) return;
      view.moved();
      if (done + failed === total) {
        end();
        resolve(results);
      }
    };
    list.forEach((item, i) => {
      settle(item).then(
        (value) => {
          if (over) return;
          results[i] = options.settled === true ? { status: "fulfilled", value } : value;
          done++;
          settledOne();
        },
        (reason: unknown) => {
          if (over) return;
          failed++;
          if (options.settled === true) {
            results[i] = { status: "rejected", reason };
            return settledOne();
          }
          rate.settled(performance.now());
          end();
          reject(reason);
        },
      );
    });
    if (total === 0) {
      end();
      resolve(results);
    }
  });
}

/** What an item settles as (see Settled). */
function settle(item: unknown): Promise<unknown> {
  if (item instanceof Ref) {
    const entry = entryOfAnyRef(item);
    return entry === undefined ? Promise.resolve(item) : whenMade(entry).then(() => item);
  }
  return Promise.resolve(item);
}

/**
 * Waits for an object's task to finish: made (ready, or made and freed since), or failed.
 * Nothing is fetched, and a lost copy is not remade: the Ref's readers do that.
 */
function whenMade(entry: ObjectEntry): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (entry.state === "pending") entry.onChange(check);
      else if (entry.state === "failed") reject(entry.error ?? entry.lost("its task failed"));
      else resolve();
    };
    check();
  });
}

interface View {
  moved(): void;
  stop(final: ProgressSnapshot): void;
}

/** Draws (or reports) the helper's snapshots as `options.output` says. */
function watch(snapshot: (final: boolean) => ProgressSnapshot, total: number, options: ItemsProgressOptions): View {
  const output = options.output ?? "auto";
  if (output === "none") return { moved: () => {}, stop: () => {} };
  if (typeof output === "function") {
    const every = options.intervalMs ?? BAR_INTERVAL_MS;
    let last = performance.now();
    output(snapshot(false));
    return {
      moved: () => {
        const now = performance.now();
        if (now - last < every) return;
        last = now;
        output(snapshot(false));
      },
      stop: (final) => output(final),
    };
  }
  const display: ProgressDisplay = showProgress(() => snapshot(false), {
    style: resolveStyle(output, options.stream),
    label: options.label ?? "",
    unit: options.unit ?? "",
    total,
    calls: false,
    ...(options.cluster !== undefined ? { calls: true } : {}),
    ...(options.stream !== undefined ? { stream: options.stream } : {}),
    ...(options.intervalMs !== undefined ? { intervalMs: options.intervalMs } : {}),
  });
  return { moved: () => {}, stop: (final) => display.stop(final) };
}
