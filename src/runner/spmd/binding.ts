import { execFile } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";
import type { RankAddress } from "../../protocol/spmd-wire.ts";

// Rank binding, as mpirun does by default (--bind-to core, --map-by core): each rank's
// thread runs on a CPU of its own while the job runs. Node has no API for a thread's
// affinity, so the thread names itself (/proc/thread-self) and `taskset` (util-linux) sets
// sched_setaffinity on that thread id; the mask it had comes back when the job ends (the
// thread then runs other calls). Where there is no /proc, no taskset, or more rank threads
// on a node than CPUs, ranks stay unbound, as mpirun leaves oversubscribed ranks.
//
// Why it matters here: a rank waiting on a peer polls (see local-links.ts); two unbound
// rank threads were seen on one CPU of a loaded 2-CPU VM, each hop then waiting out the
// other's polling (an 8 B round trip of 700 µs, against µs when on CPUs of their own).

export type BindMode = "none" | "core";

export const BIND_MODES: readonly BindMode[] = ["none", "core"];

/** A CPU list as /proc and taskset write it ("0-3,6"). */
export function parseCpuList(s: string): number[] {
  const out: number[] = [];
  for (const part of s.trim().split(",")) {
    if (part === "") continue;
    const [a, b] = part.split("-").map(Number);
    if (!Number.isInteger(a) || (b !== undefined && !Number.isInteger(b))) return [];
    for (let c = a!; c <= (b ?? a!); c++) out.push(c);
  }
  return out;
}

/** The CPUs `file` (a /proc status) says its task may run on; undefined where unknown. */
function cpusOf(file: string): { list: string; cpus: number[] } | undefined {
  try {
    const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(file, "utf8"));
    if (m === null) return undefined;
    return { list: m[1]!, cpus: parseCpuList(m[1]!) };
  } catch {
    return undefined;
  }
}

/** This thread's kernel id (from inside a worker thread too), or undefined where there is no /proc. */
export function threadTid(): number | undefined {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    return Number.isInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The CPU for `rank`'s thread: ranks on one node (same `node`, or same host where a runner
 * did not say) are numbered in rank order, one per thread, and take the process's allowed
 * CPUs in that order. Undefined when they would not each have one.
 */
export function cpuFor(table: readonly RankAddress[], rank: number, allowed: readonly number[]): number | undefined {
  const me = table[rank]!;
  const nodeOf = (a: RankAddress): string => a.node ?? a.host;
  const threads: string[] = [];
  for (const a of table) {
    if (nodeOf(a) !== nodeOf(me)) continue;
    const key = `${a.runner}.${a.thread}`;
    if (threads.includes(key)) {
      // Two ranks on one thread (or a runner that reported no thread): nothing sensible to bind.
      return undefined;
    }
    threads.push(key);
  }
  const i = threads.indexOf(`${me.runner}.${me.thread}`);
  return threads.length <= allowed.length && i >= 0 ? allowed[i] : undefined;
}

/** What a bound thread gives back at the job's end. */
export interface Bound {
  cpu: number;
  restore(): Promise<void>;
}

const taskset = (cpus: string, tid: number): Promise<void> =>
  new Promise((resolve, reject) => execFile("taskset", ["-p", "-c", cpus, String(tid)], { timeout: 5000 }, (err) => (err ? reject(err) : resolve())));

/** Binds the calling thread to its CPU in `table`; undefined (and no error) wherever it cannot. */
export async function bindRank(table: readonly RankAddress[], rank: number): Promise<Bound | undefined> {
  if (process.platform !== "linux") return undefined;
  const tid = threadTid();
  const process_ = cpusOf("/proc/self/status");
  const before = cpusOf("/proc/thread-self/status");
  if (tid === undefined || process_ === undefined || before === undefined) return undefined;
  const cpu = cpuFor(table, rank, process_.cpus);
  if (cpu === undefined) return undefined;
  try {
    await taskset(String(cpu), tid);
  } catch {
    return undefined; // no taskset, or not allowed (a container's seccomp): unbound
  }
  return { cpu, restore: () => taskset(before.list, tid).catch(() => {}) };
}
