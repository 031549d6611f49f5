// `strand run --local 2 examples/progress/main.ts -- 200 5`: 200 calls of ~5 ms each. On a
// terminal, strand run draws a live line (calls done of made, rate, runners busy); piped, a
// plain line every 5 s and a last one. Nothing here asks for it: the CLI does (--no-progress).
import { connect } from "../../src/index.ts";

const [n = 200, ms = 5] = process.argv.slice(2).map(Number);
const cluster = await connect();
try {
  const m = await cluster.import<typeof import("./work.ts")>(new URL("./work.ts", import.meta.url));
  const squares = await Promise.all(Array.from({ length: n }, (_, i) => m.square(i, ms)));
  console.log(`sum of ${squares.length} squares: ${squares.reduce((a, b) => a + b, 0)}`);
} finally {
  await cluster.close();
}
