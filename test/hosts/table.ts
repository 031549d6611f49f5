// Turns the fault matrix's report (JSON lines from test/faults-*.test.ts) into the markdown
// table of docs/reliability.md: `npx tsx test/hosts/table.ts [report.jsonl]`.
import { readFileSync } from "node:fs";
import { reportPath, type CellRecord } from "./report.ts";

type Line = CellRecord & { boundMs: number; at: string };

const ROWS = [
  "kill -9 a runner",
  "cut a link for 1 s, then restore",
  "200 ms delay + 5% loss",
  "runner restarts with the same address",
  "driver dies (SIGKILL)",
  "wrong / missing token, replayed handshake",
];

const file = process.argv[2] ?? reportPath();
const latest = new Map<string, Line>(); // the last run of each cell wins
for (const text of readFileSync(file, "utf8").split("\n")) {
  if (text.trim() === "") continue;
  const l = JSON.parse(text) as Line;
  latest.set(`${l.row}\u0000${l.cell}`, l);
}

const ms = (x: number | undefined): string => (x === undefined ? "–" : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${Math.round(x)} ms`);
const hb = (l: Line): string => `${l.heartbeat.intervalMs}/${l.heartbeat.timeoutMs} ms`;
const rank = (row: string): number => (ROWS.includes(row) ? ROWS.indexOf(row) : ROWS.length);

const lines = [...latest.values()].sort((a, b) => rank(a.row) - rank(b.row));
console.log("| fault | running | outcome | typed error after | all settled after | heartbeat (interval/timeout) | 2× bound |");
console.log("|---|---|---|---|---|---|---|");
for (const l of lines) {
  console.log(`| ${l.row} | ${l.cell} | ${l.outcome} | ${ms(l.detectMs)} | ${ms(l.settleMs)} | ${hb(l)} | ${ms(2 * l.boundMs)} |`);
}
