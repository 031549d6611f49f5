import { Command, Option } from "commander";
import type { TlsOptions } from "../transport/secure.ts";
import { tlsFlags, tlsOptions, type TlsFlags } from "./tls-flags.ts";

// --runners, --token and the TLS flags of the commands that watch a running cluster
// (`strand dashboard`, `status`, `top`): where the runners are and how to get in.

export interface ClusterFlags extends TlsFlags {
  runners?: string;
  token?: string;
}

export function withClusterFlags(c: Command): Command {
  return c
    .option("--runners <list>", "comma-separated runner addresses (host:port); default STRAND_RUNNERS")
    .addOption(new Option("--token <token>", "shared token for the runners").env("STRAND_TOKEN"))
    .addOption(tlsFlags.cert())
    .addOption(tlsFlags.key())
    .addOption(tlsFlags.ca());
}

/** The runners, token and TLS the flags (or the environment) give; throws without runners. */
export function clusterTarget(o: ClusterFlags): { runners: string[]; token: string | undefined; tls: TlsOptions | undefined } {
  const runners = (o.runners ?? process.env.STRAND_RUNNERS ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (runners.length === 0) throw new Error("which runners? give --runners host:port,... (or set STRAND_RUNNERS)");
  return { runners, token: o.token || undefined, tls: tlsOptions(o) };
}
