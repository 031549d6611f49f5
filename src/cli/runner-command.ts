import { Command, Option } from "commander";
import { parseAddress } from "../transport/connection.ts";
import { RunnerDaemon } from "../runner/daemon.ts";
import type { BindMode } from "../runner/spmd/binding.ts";
import { tlsOptions, tlsFlags, type TlsFlags } from "./tls-flags.ts";

export function runnerCommand(): Command {
  return new Command("runner")
    .description("run a runner daemon: executes calls from authenticated drivers on a thread pool")
    .option("--listen <host:port>", "address to listen on (port 0 picks a free one)", "127.0.0.1:7700")
    .option("--threads <n>", "worker threads (default: one per core)", (v) => positiveInt(v, "--threads"))
    .option("--actor-threads <n>", "threads set aside for actors, started with the first spawn (default: as many as --threads)", (v) => positiveInt(v, "--actor-threads"))
    .addOption(new Option("--token <token>", "shared secret drivers must prove they hold").env("STRAND_TOKEN"))
    .option("--cache-dir <dir>", "where shipped bundles are kept by hash (default ./node_modules/.cache/strand)")
    .option("--grace <ms>", "on SIGTERM, how long in-flight calls may finish", (v) => positiveInt(v, "--grace"), 10_000)
    .option("--max-frame <bytes>", "largest frame accepted", (v) => positiveInt(v, "--max-frame"))
    .option("--max-connections <n>", "connections accepted at once, per port (default 256)", (v) => positiveInt(v, "--max-connections"))
    .option("--max-code <bytes>", "largest module bundle accepted from a driver (default 64 MiB)", (v) => positiveInt(v, "--max-code"))
    .option("--object-memory <MiB>", "memory budget of the object store; over it, least recently used objects spill to disk (default: 30% of RAM)", (v) => positiveInt(v, "--object-memory"))
    .option("--spill-dir <dir>", "where the object store spills, in a subdirectory per runner removed on exit (default: strand-spill in the OS temp dir)")
    .option("--max-goroutines <n>", "goroutines live at once, at most; more are refused at the go call (default: no number, only memory)", (v) => positiveInt(v, "--max-goroutines"))
    .addOption(new Option("--join <host:port>", "register with this head: its drivers find this runner (strand head)").env("STRAND_HEAD"))
    .option("--head-timeout <s>", "with --join: drain and exit after this many seconds without the head (default: never); a runner job whose cluster is gone gives back its allocation", (v) => positiveInt(v, "--head-timeout"))
    .option("--advertise <host:port>", "the address drivers dial, as the head tells them (default: --listen; on 0.0.0.0, this host's address towards the head)")
    .option("--tag <key=value>", "a label the head passes on to drivers (repeatable), e.g. slurm.job=1234", (v: string, all: string[]) => [...all, tag(v)], [] as string[])
    .option("--tools <names>", "tools offered to commands (cluster.exec), comma-separated: go, gcc, cc, clang; none: no tools (default: each of those found on PATH)", (v) => v.split(",").map((t) => t.trim()).filter((t) => t !== ""))
    .addOption(new Option("--bind <mode>", "SPMD ranks: core binds each rank's thread to a CPU of its own while its job runs, as mpirun binds ranks (skipped when a node has more rank threads than CPUs); none leaves them to the scheduler").choices(["none", "core"]).default("core"))
    .option("--health <[host:]port>", "serve /healthz and /readyz over HTTP (loopback unless a host is given)")
    .option("--metrics <[host:]port>", "serve Prometheus metrics over HTTP at /metrics (loopback unless a host is given; port 0 picks a free one)")
    .addOption(tlsFlags.cert("this runner's certificate (PEM file or text): TLS on all its ports"))
    .addOption(tlsFlags.key())
    .addOption(tlsFlags.ca("CA that signs the other runners' and the drivers' certificates; requires client certificates (mutual TLS)"))
    .addOption(new Option("--exit-with-stdin", "exit when stdin closes (used for child runners)").hideHelp())
    .action(async (o: { listen: string; threads?: number; actorThreads?: number; token?: string; cacheDir?: string; grace: number; maxFrame?: number; maxConnections?: number; maxCode?: number; objectMemory?: number; spillDir?: string; maxGoroutines?: number; metrics?: string; exitWithStdin?: boolean; join?: string; advertise?: string; tag: string[]; health?: string; headTimeout?: number; tools?: string[]; bind: BindMode } & TlsFlags) => {
      process.setSourceMapsEnabled(true); // remote stacks point into the user's TypeScript
      const { host, port } = parseAddress(o.listen);
      let headGone = (): void => process.exit(1);
      const daemon = await RunnerDaemon.start({
        host, port, token: o.token || undefined,
        ...(o.threads !== undefined ? { threads: o.threads } : {}),
        ...(o.actorThreads !== undefined ? { actorThreads: o.actorThreads } : {}),
        ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}),
        ...(o.maxFrame !== undefined ? { maxFrame: o.maxFrame } : {}),
        ...(o.maxConnections !== undefined ? { maxConnections: o.maxConnections } : {}),
        ...(o.maxCode !== undefined ? { maxCode: o.maxCode } : {}),
        ...(o.objectMemory !== undefined ? { objectMemory: o.objectMemory * 1024 * 1024 } : {}),
        ...(o.spillDir !== undefined ? { spillDir: o.spillDir } : {}),
        ...(o.maxGoroutines !== undefined ? { maxGoroutines: o.maxGoroutines } : {}),
        tls: tlsOptions(o),
        ...(o.metrics !== undefined ? { metrics: o.metrics } : {}),
        bind: o.bind,
        join: o.join || undefined, advertise: o.advertise, tags: o.tag, health: o.health, tools: o.tools,
        // Called from a timer, never before start() returns (the first attempt is at least a dial away).
        ...(o.headTimeout !== undefined ? { headTimeoutMs: o.headTimeout * 1000, onHeadGone: () => headGone() } : {}),
      });
      // Before "listening on", which says the runner is ready (local() reads both).
      if (daemon.metricsAddress !== undefined) process.stdout.write(`metrics on ${daemon.metricsAddress}\n`);
      if (daemon.healthAddress !== undefined) process.stdout.write(`health on ${daemon.healthAddress}\n`);
      process.stdout.write(`listening on ${daemon.address}\n`);
      headGone = () => stop(`no head for ${o.headTimeout} s`);
      // However the process ends (an uncaught error, process.exit elsewhere): its spill files go with it.
      process.once("exit", () => daemon.spill.removeAll());
      daemon.log.info({ address: daemon.address, threads: daemon.executor.threads, auth: o.token ? "token" : "none (loopback)", tls: daemon.tls === undefined ? "off" : daemon.tls.mutual ? "mutual" : "server", metrics: daemon.metricsAddress ?? "off", head: o.join || "none" }, "runner ready");
      let stopping = false;
      const stop = (why: string): void => {
        if (stopping) return;
        stopping = true;
        daemon.log.info({ why }, "stopping: finishing in-flight calls");
        daemon.close(o.grace).then(() => process.exit(0), () => process.exit(1));
      };
      process.on("SIGTERM", () => stop("SIGTERM"));
      process.on("SIGINT", () => stop("SIGINT"));
      if (o.exitWithStdin) {
        process.stdin.on("end", () => stop("parent gone"));
        process.stdin.on("error", () => stop("parent gone"));
        process.stdin.resume();
      }
    });
}

function tag(v: string): string {
  if (!/^[^=\s]+=\S*$/.test(v)) throw new Error(`--tag wants key=value, got "${v}"`);
  return v;
}

function positiveInt(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} wants a whole number, got "${v}"`);
  return n;
}
