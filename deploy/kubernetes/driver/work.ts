// The functions the driver calls on the runners (bundled and shipped by cluster.import).
import os from "node:os";

/** Steps of the Collatz sequence from n down to 1, and which runner computed them. */
export function collatz(n: number): { n: number; steps: number; runner: string } {
  let steps = 0;
  for (let x = n; x !== 1; x = x % 2 === 0 ? x / 2 : 3 * x + 1) steps++;
  return { n, steps, runner: `${os.hostname()} pid ${process.pid}` };
}
