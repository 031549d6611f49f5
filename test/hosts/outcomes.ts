import { expect } from "vitest";

/** A generous limit that only a hang reaches: the matrix asserts outcomes, never times. */
export const HANG_MS = 20_000;

/** A settled promise and when it settled (performance.now()). */
export type Settled<T> = { ok: true; value: T; at: number } | { ok: false; error: unknown; at: number };

/** Never rejects: records how `p` ended and when. */
export function track<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then(
    (value) => ({ ok: true as const, value, at: performance.now() }),
    (error: unknown) => ({ ok: false as const, error, at: performance.now() }),
  );
}

/** `p`, or a rejection naming `what` if it is still pending after HANG_MS: a hang, reported as one. */
export async function noHang<T>(p: Promise<T>, what: string, ms = HANG_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${what} still pending ${ms} ms on`)), ms);
  });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls `read` until `ok` holds: only for state that lives in another process and has no
 * event to await (a runner's counters, read over the protocol). Fails as a hang after HANG_MS.
 */
export async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, everyMs = 50): Promise<T> {
  const t0 = performance.now();
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (performance.now() - t0 > HANG_MS) throw new Error(`hang: ${what}; last seen ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Checks every outcome: a value must pass `check`; an error must be one of `allowed`
 * (typed, never a bare Error or a hang). Returns the counts and the first error's time.
 */
export function tally<T>(outcomes: readonly Settled<T>[], check: (value: T, i: number) => void, allowed: readonly ErrorClass[]): {
  correct: number; errors: Map<string, number>; firstErrorAt: number | undefined;
} {
  let correct = 0;
  const errors = new Map<string, number>();
  let firstErrorAt: number | undefined;
  outcomes.forEach((o, i) => {
    if (o.ok) {
      check(o.value, i);
      correct++;
      return;
    }
    const cls = allowed.find((c) => o.error instanceof c);
    expect(cls, `outcome ${i}: ${String(o.error)}`).toBeDefined();
    const name = (o.error as Error).name;
    errors.set(name, (errors.get(name) ?? 0) + 1);
    firstErrorAt = Math.min(firstErrorAt ?? Infinity, o.at);
  });
  return { correct, errors, firstErrorAt };
}

/** "10/12 right values, 2 RunnerLostError". */
export function describeTally(t: { correct: number; errors: Map<string, number> }, total: number): string {
  const errs = [...t.errors].map(([name, n]) => `${n} ${name}`);
  return [`${t.correct}/${total} right values`, ...errs].join(", ");
}

/** Time since `t0`, if `at` is defined and later. */
export const since = (t0: number, at: number | undefined): number | undefined => (at === undefined ? undefined : Math.max(0, at - t0));

export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
