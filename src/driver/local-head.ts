import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { loadTls, type TlsOptions } from "../transport/secure.ts";
import { devRunnerEntry } from "./dev-runner.ts";
import { cliMain, fromSource, listeningAddress, stopProcess } from "./local.ts";
import { tlsEnv } from "./tls-env.ts";

export interface LocalHeadOptions {
  /** Where it listens (default 127.0.0.1 on a free port); off loopback it needs the token. */
  listen?: string;
  /** Default: a fresh random one (in `token`). */
  token?: string;
  tls?: TlsOptions;
  /** Serve /healthz and /readyz here. */
  health?: string;
}

export interface LocalHead {
  address: string;
  token: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `strand head` as a child process of this one (as local() starts runners): the
 * token passes in the environment, never on the command line, and the head exits if this
 * process dies (it watches its stdin).
 */
export async function startLocalHead(opts: LocalHeadOptions = {}): Promise<LocalHead> {
  const token = opts.token ?? randomBytes(24).toString("base64url");
  const tls = opts.tls === undefined ? undefined : loadTls(opts.tls);
  const env = { ...process.env, STRAND_TOKEN: token, STRAND_LOG: process.env.STRAND_LOG ?? "warn", ...tlsEnv(tls) };
  const entry = fromSource ? [await devRunnerEntry()] : [cliMain];
  const args = [...entry, "head", "--listen", opts.listen ?? "127.0.0.1:0", "--exit-with-stdin"];
  if (opts.health !== undefined) args.push("--health", opts.health);
  const child = spawn(process.execPath, args, { env, stdio: ["pipe", "pipe", "inherit"] });
  try {
    const { address } = await listeningAddress(child);
    return { address, token, process: child, stop: () => stopProcess(child) };
  } catch (err) {
    await stopProcess(child);
    throw err;
  }
}
