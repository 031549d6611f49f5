import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { loadTls, type TlsOptions } from "../../transport/secure.ts";
import { stopOnClose, type Cluster } from "../cluster.ts";
import { connect, type ConnectOptions } from "../connect.ts";
import { stopProcess } from "../local.ts";
import { startLocalHead } from "../local-head.ts";
import { tlsEnv } from "../tls-env.ts";
import { headHost, strandCommandWords } from "./slurm.ts";
import { slurmCommands } from "./slurm-commands.ts";

// A cluster on the allocation this process runs in (`salloc`, or inside an sbatch script):
// a head here and one runner per node of the allocation started with `srun`, each with a
// thread per task Slurm placed on its node. What `strand mpirun` uses there.

export interface Allocation {
  jobId: string;
  /** Tasks in the allocation (SLURM_NTASKS): mpirun's default number of ranks. */
  tasks: number;
  /** Tasks on each node, in node order (SLURM_TASKS_PER_NODE expanded). */
  tasksPerNode: number[];
  nodeList: string;
}

/** `2(x3),1` (SLURM_TASKS_PER_NODE) as [2, 2, 2, 1]. */
export function expandTasksPerNode(s: string): number[] {
  const out: number[] = [];
  for (const part of s.split(",")) {
    const m = /^\s*(\d+)(?:\(x(\d+)\))?\s*$/.exec(part);
    if (m === null) throw new TypeError(`SLURM_TASKS_PER_NODE "${s}" is not like 2(x3),1`);
    for (let i = 0; i < Number(m[2] ?? 1); i++) out.push(Number(m[1]));
  }
  return out;
}

/** The Slurm allocation in this environment, or undefined outside one. */
export function slurmAllocation(env: NodeJS.ProcessEnv = process.env): Allocation | undefined {
  const jobId = env.SLURM_JOB_ID;
  const tasks = Number(env.SLURM_NTASKS ?? env.SLURM_NPROCS);
  const nodeList = env.SLURM_JOB_NODELIST ?? env.SLURM_NODELIST;
  if (!jobId || !nodeList || !Number.isInteger(tasks) || tasks < 1) return undefined;
  const perNode = env.SLURM_TASKS_PER_NODE ?? env.SLURM_JOB_CPUS_PER_NODE;
  const nodes = Number(env.SLURM_JOB_NUM_NODES ?? env.SLURM_NNODES ?? 1);
  return { jobId, tasks, nodeList, tasksPerNode: perNode ? expandTasksPerNode(perNode) : new Array<number>(nodes).fill(Math.ceil(tasks / nodes)) };
}

export interface AllocationOptions extends Omit<ConnectOptions, "runners" | "head" | "token" | "tls"> {
  token?: string;
  tls?: TlsOptions;
  /** The address the head listens on, which the nodes dial (default: this host name's address). */
  host?: string;
  /** How long the runners may take to join (default 120 s). */
  joinTimeoutMs?: number;
}

/** The srun command that starts one runner per node of `a`, each with its node's task count as threads. */
export function srunArgs(a: Allocation, head: string, runner: readonly string[]): string[] {
  const nodes = a.tasksPerNode.length;
  // One command for every node: the node's thread count is picked from the list by SLURM_NODEID.
  // Tagged with the step too: to stop the runners, the driver signals that step.
  const pick = `set -- "$@" --threads "$(echo "$STRAND_TASKS_PER_NODE" | cut -d, -f"$((SLURM_NODEID + 1))")" --tag "slurm.step=$SLURM_STEP_ID"; exec "$@"`;
  return [
    // --overlap: the runners share the nodes with whatever else runs there (this driver, in a batch step).
    "--overlap", `--nodes=${nodes}`, `--ntasks=${nodes}`, "--ntasks-per-node=1", "--kill-on-bad-exit=0", `--job-name=strand-runners`,
    "sh", "-c", pick, "strand-runner", ...runner, "runner", "--join", head, "--listen", "0.0.0.0:0", "--tag", `slurm.job=${a.jobId}`,
  ];
}

/**
 * Connects to runners started across the allocation `a` (one per node, by srun) through a
 * head started here; resolves once every node's runner joined. `close()` stops the runners
 * (once this driver has left them) and the head.
 */
export async function allocationCluster(a: Allocation, o: AllocationOptions = {}): Promise<Cluster> {
  const token = o.token ?? randomBytes(24).toString("base64url");
  const tls = o.tls === undefined ? undefined : loadTls(o.tls);
  const head = await startLocalHead({ listen: `${o.host ?? (await headHost())}:0`, token, ...(tls !== undefined ? { tls } : {}) });
  const env = { ...process.env, STRAND_LOG: process.env.STRAND_LOG ?? "warn", STRAND_TOKEN: token, STRAND_TASKS_PER_NODE: a.tasksPerNode.join(","), ...tlsEnv(tls) };
  const srun: ChildProcess = spawn("srun", srunArgs(a, head.address, await strandCommandWords()), { env, stdio: ["ignore", "ignore", "inherit"] });
  const srunEnded = new Promise<string>((resolve) => {
    srun.once("error", (err) => resolve(err.message));
    srun.once("exit", (code, signal) => resolve(`srun exited (${signal ?? code})`));
  });
  let step: string | undefined;
  const stop = async (): Promise<void> => {
    // SIGTERM to the runners' step: they drain (this driver has left them) and exit, then srun
    // does. srun itself would answer SIGTERM by killing them outright: only if that fails.
    if (step !== undefined && srun.exitCode === null) {
      await slurmCommands.cancel([`${a.jobId}.${step}`], "TERM").catch(() => {});
      await Promise.race([srunEnded, new Promise((r) => setTimeout(r, 30_000).unref())]);
    }
    await stopProcess(srun, 30_000);
    await head.stop();
  };
  let cluster: Cluster | undefined;
  try {
    const own = new Set(["joinTimeoutMs", "host", "token", "tls"]);
    const rest = Object.fromEntries(Object.entries(o).filter(([k]) => !own.has(k))) as ConnectOptions;
    cluster = await connect({ ...rest, head: head.address, token, ...(o.tls !== undefined ? { tls: o.tls } : {}) });
    await allJoined(cluster, a.tasksPerNode.length, o.joinTimeoutMs ?? 120_000, srunEnded);
    step = cluster.runners.flatMap((r) => r.tags).find((t) => t.startsWith("slurm.step="))?.slice("slurm.step=".length);
  } catch (err) {
    await cluster?.close();
    await stop();
    throw err;
  }
  stopOnClose(cluster, stop);
  return cluster;
}

function allJoined(cluster: Cluster, n: number, timeoutMs: number, failed: Promise<string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      cluster.off("runner", check);
      if (err === undefined) resolve();
      else reject(err);
    };
    const timer = setTimeout(() => done(new Error(`${cluster.runners.filter((r) => r.alive).length} of ${n} runners joined within ${timeoutMs} ms`)), timeoutMs);
    const check = (): void => {
      if (cluster.runners.filter((r) => r.alive).length >= n) done();
    };
    void failed.then((why) => done(new Error(`the runners did not start: ${why}`)));
    cluster.on("runner", check);
    check();
  });
}
