import { Command, Option } from "commander";
import type { TlsOptions } from "../transport/secure.ts";
import { connect, local, type LocalOptions } from "../driver/connect.ts";
import type { Cluster } from "../driver/cluster.ts";
import { tlsFlags, tlsOptions, type TlsFlags } from "./tls-flags.ts";
import { wholeNumber } from "./whole-number.ts";

// --runners, --token and the TLS flags of the commands that watch a running cluster
// (`strand dashboard`, `status`, `top`): where the runners are and how to get in.

export interface ClusterFlags extends TlsFlags {
  runners?: string;
  head?: string;
  token?: string;
}

export function withClusterFlags(c: Command): Command {
  return c
    .option("--runners <list>", "comma-separated runner addresses (host:port); default STRAND_RUNNERS")
    .addOption(new Option("--head <host:port>", "the cluster's head: its runners, as they join and leave").env("STRAND_HEAD"))
    .addOption(new Option("--token <token>", "shared token for the runners").env("STRAND_TOKEN"))
    .addOption(tlsFlags.cert())
    .addOption(tlsFlags.key())
    .addOption(tlsFlags.ca());
}

/**
 * The flags of a command that runs a job on a cluster (`strand mpirun`, `dag run`, `go build`):
 * local runners (`--local n`, `--threads`) or the runners or head to connect to, with the token
 * and TLS. `job` names what runs in the help ("the build"); `defaults` adds a default to the
 * help of --local and --threads.
 */
export function withJobClusterFlags(c: Command, job: string, defaults: { local?: string; threads?: string } = {}): Command {
  const note = (d: string | undefined): string => (d === undefined ? "" : ` (default ${d})`);
  return c
    .addOption(new Option("--local <n>", `start n local runners for ${job}${note(defaults.local)}`).argParser((v) => wholeNumber(v, "--local")).conflicts("runners"))
    .option("--threads <n>", `threads per local runner${note(defaults.threads)}`, (v) => wholeNumber(v, "--threads"))
    .option("--runners <list>", "comma-separated runner addresses (host:port); default STRAND_RUNNERS")
    .addOption(new Option("--head <address>", "a head (host:port) that knows the runners (strand head); default STRAND_HEAD").conflicts(["runners", "local"]))
    .addOption(new Option("--token <token>", "shared token for the runners").env("STRAND_TOKEN"))
    .addOption(tlsFlags.cert())
    .addOption(tlsFlags.key())
    .addOption(tlsFlags.ca());
}

/** The runners (or head), token and TLS the flags (or the environment) give; throws with neither. */
export function clusterTarget(o: ClusterFlags): { runners: string[]; head: string | undefined; token: string | undefined; tls: TlsOptions | undefined } {
  const runners = (o.runners ?? process.env.STRAND_RUNNERS ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  const head = o.head?.trim() || undefined;
  if (runners.length === 0 && head === undefined) throw new Error("which runners? give --runners host:port,... or --head host:port (or set STRAND_RUNNERS / STRAND_HEAD)");
  return { runners, head, token: o.token || undefined, tls: tlsOptions(o) };
}

/**
 * The cluster a job command (`strand dag run`, `strand go build`) runs on: local runners with
 * `--local n` or when no runners, head or STRAND_RUNNERS are given (`localOptions`, n runners
 * by default), else the runners or head given, with the token and TLS of the flags.
 */
export function jobCluster(o: ClusterFlags & { local?: number }, localOptions: LocalOptions & { runners: number }): Promise<Cluster> {
  const token = o.token || undefined;
  const tls = tlsOptions(o);
  const head = o.head ?? (process.env.STRAND_HEAD || undefined);
  if (o.local !== undefined || (o.runners === undefined && head === undefined && !process.env.STRAND_RUNNERS)) {
    return local({ ...localOptions, runners: o.local ?? localOptions.runners, ...(token ? { token } : {}), ...(tls ? { tls } : {}) });
  }
  return connect({
    ...(o.runners !== undefined ? { runners: o.runners.split(",").map((x) => x.trim()).filter(Boolean) } : {}),
    ...(head !== undefined && o.runners === undefined ? { head } : {}),
    ...(token ? { token } : {}), ...(tls ? { tls } : {}),
  });
}
