// Go's concurrent prime sieve, as remote goroutines: `generate` sends 2, 3, 4, ... on a
// channel; each `filter` stage passes on what its prime does not divide. The driver
// (main.ts) starts every stage with `.go(...)` on the cluster. These functions import
// only types from the runtime entry (`strand/runtime` in the published package) and run
// unchanged in one process on in-process channels (local-chan.ts): the baseline.
import type { Chan } from "../../src/runtime.ts";

/** What a stage reports when its input is used up: how many values it sent on, and where it ran. */
export interface Stage {
  sent: number;
  pid: number;
}

/** Sends 2, 3, ..., limit on `out`, then closes it. */
export async function generate(out: Chan<number>, limit: number): Promise<Stage> {
  let sent = 0;
  for (let i = 2; i <= limit; i++, sent++) await out.send(i);
  await out.close();
  return { sent, pid: process.pid };
}

/** Copies the values from `inp` that `prime` does not divide to `out`; closes `out` once `inp` is closed and drained. */
export async function filter(inp: Chan<number>, out: Chan<number>, prime: number): Promise<Stage> {
  let sent = 0;
  for await (const v of inp) {
    if (v % prime !== 0) {
      await out.send(v);
      sent++;
    }
  }
  await out.close();
  return { sent, pid: process.pid };
}
