// The quick start's driver: CALLS calls (default 1000) spread over the runners the head knows,
// then which runner ran how many. connect() reads STRAND_HEAD and STRAND_TOKEN (and TLS files
// from STRAND_TLS_*) from the Job's environment.
import { connect } from "strand";

const calls = Number(process.env.CALLS ?? 1000);
await using cluster = await connect();
const work = await cluster.import<typeof import("./work.ts")>(new URL("./work.ts", import.meta.url));
const results = await Promise.all(Array.from({ length: calls }, (_, i) => work.collatz(i + 1)));

const longest = results.reduce((a, b) => (b.steps > a.steps ? b : a));
const byRunner = new Map<string, number>();
for (const r of results) byRunner.set(r.runner, (byRunner.get(r.runner) ?? 0) + 1);
console.log(`${calls} calls; longest Collatz chain from n <= ${calls}: n=${longest.n}, ${longest.steps} steps`);
console.log(`ran on ${byRunner.size} runners:`);
for (const [runner, n] of byRunner) console.log(`  ${runner}: ${n} calls`);
