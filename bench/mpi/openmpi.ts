// The OpenMPI peer of the MPI benchmarks (bench/mpi.ts, bench/wasm-mpi.ts): installs OpenMPI
// from Debian when missing, builds a C benchmark with mpicc, and runs it with mpirun over TCP
// or shared memory. The programs print rank 0's times on one line, `MPIBENCH {json}`.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { progress } from "../common.ts";

const describe = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

export const onPath = (cmd: string): boolean => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;

/** Installs OpenMPI if needed and builds `source` into `binary` (extra mpicc flags in `flags`); the reason if it cannot. */
export function setUpMpi(source: string, binary: string, flags: readonly string[] = []): { version: string } | { error: string } {
  if (!onPath("mpicc") || !onPath("mpirun")) {
    if (!onPath("apt-get") || process.getuid?.() !== 0) return { error: "mpicc/mpirun not found, and no apt-get as root to install them" };
    progress("mpi: installing OpenMPI (apt-get install openmpi-bin libopenmpi-dev)");
    // Installer output goes to stderr: stdout is the markdown.
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    for (const args of [["update"], ["install", "-y", "openmpi-bin", "libopenmpi-dev"]]) {
      const r = spawnSync("apt-get", args, { stdio: ["ignore", 2, 2], env });
      if (r.status !== 0) return { error: `\`apt-get ${args.join(" ")}\` failed (exit ${r.status ?? r.signal})` };
    }
    if (!onPath("mpicc") || !onPath("mpirun")) return { error: "apt-get installed OpenMPI but mpicc/mpirun are still not on PATH" };
  }
  try {
    mkdirSync(path.dirname(binary), { recursive: true });
    execFileSync("mpicc", ["-O2", ...flags, "-o", binary, source], { stdio: ["ignore", 2, 2] });
    const version = execFileSync("mpirun", ["--version"], { encoding: "utf8" }).split("\n")[0]!.trim();
    return { version };
  } catch (err) {
    return { error: `building ${path.basename(source)} failed: ${describe(err)}` };
  }
}

export type MpiTransport = "tcp" | "sm";

export const MPI_TRANSPORT: Record<MpiTransport, string[]> = {
  // ob1 named explicitly: another PML (ucx, cm) would ignore the BTL list.
  tcp: ["--mca", "pml", "ob1", "--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", "lo"],
  sm: ["--mca", "pml", "ob1", "--mca", "btl", "vader,self"],
};

/** One mpirun of `binary` on `ranks` ranks with `args`; the `us` of its MPIBENCH line. */
export function runMpiBench(binary: string, mode: MpiTransport, ranks: number, args: readonly string[], timeoutMs: number): Promise<number[]> {
  const argv = ["--allow-run-as-root", "--oversubscribe", "-np", String(ranks), ...MPI_TRANSPORT[mode], binary, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn("mpirun", argv, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      const line = out.split("\n").find((l) => l.startsWith("MPIBENCH "));
      if (code !== 0 || line === undefined) {
        return reject(new Error(`mpirun ${argv.join(" ")} exited with ${code ?? signal}: ${(err || out).trim().slice(0, 800)}`));
      }
      resolve((JSON.parse(line.slice("MPIBENCH ".length)) as { us: number[] }).us);
    });
  });
}
