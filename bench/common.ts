// Shared helpers for the benchmarks: flags, statistics, markdown tables, machine info.
// The benchmarks never assert on timings; they print tables for people to read.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";

/** `--quick`: a short smoke run (fewer reps, smaller sizes) that checks the scripts work. */
export const quick = process.argv.includes("--quick") || process.env.BENCH_QUICK === "1";

/** Reps for a benchmark: `full` normally, `short` with --quick. */
export const reps = (full: number, short = 2): number => (quick ? short : full);

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank percentile of an ascending array, p in 0..100. */
export function percentile(sorted: readonly number[] | Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(headers), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

/** A number with thousands separators and `digits` decimals. */
export const num = (x: number, digits = 0): string =>
  Number.isFinite(x) ? x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }) : String(x);

export const ratio = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}x` : String(x));

/** "min–max" of a list, for showing how much the reps moved. */
export function spread(xs: readonly number[], digits = 0): string {
  return `${num(Math.min(...xs), digits)}–${num(Math.max(...xs), digits)}`;
}

export function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    return m?.[1]?.trim() ?? os.cpus()[0]?.model ?? "unknown";
  } catch {
    return os.cpus()[0]?.model ?? "unknown";
  }
}

export function gitRevision(): string {
  try {
    const rev = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() !== "";
    return dirty ? `${rev} (+ uncommitted changes in src/)` : rev;
  } catch {
    return "unknown";
  }
}

export function machine(): string {
  return `Node ${process.version}, ${os.availableParallelism()} CPUs (nproc), ${cpuModel()}, ${os.platform()} ${os.release()}`;
}

export const loadAvg = (): string => os.loadavg().map((l) => l.toFixed(2)).join(" ");

/** A section's closing lines: setup and the load average, which says how noisy the run was. */
export function footer(lines: readonly string[]): string {
  return [...lines, `Load average (1/5/15 min) at the end: ${loadAvg()}${quick ? "; --quick run" : ""}.`].map((l) => `- ${l}`).join("\n");
}

/** CPU time of a process in µs (utime + stime from /proc; 0 where there is no /proc). */
export function processCpuUs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10_000; // clock ticks of 10 ms (CLK_TCK = 100)
  } catch {
    return 0;
  }
}

/** Progress goes to stderr so that stdout is the markdown alone. */
export const progress = (msg: string): void => {
  process.stderr.write(`  [${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};

/**
 * Puts the client on CPU 0 and every server process (all its threads) on CPU 1, so that
 * each row of a latency table crosses the same CPU boundary. Without it, the scheduler's
 * placement decides: on these VMs a wake-up on the same CPU costs ~40 µs less than one on
 * the other, which swamps what is being compared. Returns false where it cannot pin.
 */
export function pinClientAndServers(serverPids: readonly number[]): boolean {
  if (os.availableParallelism() < 2 || process.platform !== "linux") return false;
  try {
    execFileSync("taskset", ["-a", "-pc", "0", String(process.pid)], { stdio: "ignore" });
    for (const pid of serverPids) execFileSync("taskset", ["-a", "-pc", "1", String(pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
