// `npm run bench`: every benchmark in sequence, each in a child process of its own, then
// the examples' table (examples/start.ts) if it exists. Tables go to stdout and to
// bench/.out/latest.md.
//
//   npm run bench                   full run (takes several minutes)
//   npm run bench -- --quick        smoke run: fewer reps, 10 MB bulk and broadcast, 20k calls,
//                                   a 200-task graph, 1,000 channel messages, short MPI loops,
//                                   100k load calls; no examples
//   npm run bench -- dag broadcast  only these benchmarks (rtt, throughput, actors, bulk, spill, codec, dag, broadcast, chan, mpi, tls, load, observe, placement, wasm, wasm-mpi, build)
//   --examples / --no-examples      force the examples step on or off
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gitRevision, loadAvg, machine, quick } from "./common.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const BENCHES = ["rtt", "throughput", "actors", "bulk", "spill", "codec", "dag", "broadcast", "chan", "mpi", "tls", "load", "observe", "placement", "wasm", "wasm-mpi", "build"] as const;

const flags = process.argv.slice(2).filter((a) => a.startsWith("--"));
const names = process.argv.slice(2).filter((a) => !a.startsWith("--"));
for (const n of names) {
  if (!(BENCHES as readonly string[]).includes(n)) throw new Error(`unknown benchmark "${n}"; known: ${BENCHES.join(", ")}`);
}
const selected = names.length === 0 ? [...BENCHES] : names;
const startFile = path.join(root, "examples", "start.ts");
const examples = flags.includes("--examples") || (!flags.includes("--no-examples") && !quick && names.length === 0);

interface Step {
  title: string;
  args: string[];
  /** Its stdout is plain text, not markdown: fence it. */
  fenced: boolean;
}

/** Runs a step with stdout captured (and echoed), stderr passed through. */
function run(step: Step): Promise<{ out: string; code: number; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), ...step.args], {
      cwd: root, stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      out += d;
      process.stdout.write(d);
    });
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ out, code: code ?? (signal !== null ? 128 : 1), ms: performance.now() - t0 }));
  });
}

async function main(): Promise<number> {
  const steps: Step[] = selected.map((n) => ({ title: n, args: [`bench/${n}.ts`, ...(quick ? ["--quick"] : [])], fenced: false }));
  if (examples && existsSync(startFile)) steps.push({ title: "examples", args: ["examples/start.ts"], fenced: true });

  const head = [
    `# Strand benchmarks${quick ? " (--quick smoke run)" : ""}`,
    "",
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${machine()}`,
    `- Revision: ${gitRevision()}`,
    `- Command: \`npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}\``,
    `- Load average (1/5/15 min) at the start: ${loadAvg()}`,
    "",
    "Numbers move 1.5–3x between runs on a shared VM: compare each row with the floor measured in the same run (the ratio columns), not with other runs.",
    "",
  ].join("\n");
  process.stdout.write(`${head}\n`);
  const sections: string[] = [head];
  let failed = 0;
  for (const step of steps) {
    process.stderr.write(`\n== ${step.title}: node --import tsx ${step.args.join(" ")}\n`);
    const r = await run(step);
    let text = step.fenced ? `## Examples (\`npm start\`)\n\n\`\`\`\n${r.out.trim()}\n\`\`\`\n` : r.out;
    if (r.code !== 0) {
      failed++;
      const note = `\n**${step.title} failed with exit code ${r.code}.**\n`;
      text += note;
      process.stdout.write(note);
    }
    if (step.fenced) process.stdout.write("\n");
    sections.push(`${text.trimEnd()}\n\n_${step.title}: ${(r.ms / 1000).toFixed(1)} s_\n`);
  }
  const outDir = path.join(root, "bench", ".out");
  mkdirSync(outDir, { recursive: true });
  const outFile = path.join(outDir, "latest.md");
  writeFileSync(outFile, `${sections.join("\n")}`);
  process.stderr.write(`\nwrote ${path.relative(root, outFile)}${failed > 0 ? `; ${failed} step(s) failed` : ""}\n`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
