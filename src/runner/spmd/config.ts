import type { RunnerInfo } from "../../protocol/messages.ts";
import type { Tls } from "../../transport/secure.ts";
import type { BindMode } from "./binding.ts";

// What a worker thread needs to run ranks: where to listen, and how to prove (and check)
// the shared token (and TLS certificates) to other ranks. Set once when the thread starts (worker.ts).

export interface RankConfig {
  host: string;
  token: string | undefined;
  /** The thread's TLS material, prepared once (the lane server shares it). */
  tls: Tls | undefined;
  maxFrame: number;
  maxConnections: number;
  info: RunnerInfo;
  /** Rank threads on CPUs of their own while a job runs (`--bind`; see binding.ts). */
  bind?: BindMode;
}

let config: RankConfig | undefined;

export function setRankConfig(c: RankConfig): void {
  config = c;
}

export function rankConfig(): RankConfig {
  if (config === undefined) throw new Error("this thread cannot run SPMD ranks (the runner started it without its network settings)");
  return config;
}
