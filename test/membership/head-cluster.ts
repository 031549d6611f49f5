// A head and runners that join it, as real processes, for the membership tests.
import type { Cluster, RunnerEvent } from "../../src/index.ts";
import { startLocalHead, type LocalHead } from "../../src/driver/local-head.ts";
import { startLocalRunners, stopProcess, type LocalRunners } from "../../src/driver/local.ts";

export const TOKEN = "membership-test-token";

/** Everything started through this, stopped by `stopAll()` (afterEach). */
export class HeadCluster {
  private readonly heads: LocalHead[] = [];
  private readonly runnerSets: LocalRunners[] = [];

  async head(listen?: string): Promise<LocalHead> {
    for (let attempt = 0; ; attempt++) {
      const at = listen ?? `127.0.0.1:${20_000 + Math.floor(Math.random() * 12_000)}`;
      try {
        const h = await startLocalHead({ token: TOKEN, listen: at });
        this.heads.push(h);
        return h;
      } catch (err) {
        // A fixed port (so the head can come back on it) may be taken: try another, unless asked for this one.
        if (listen !== undefined || attempt === 5) throw err;
      }
    }
  }

  /** `n` runners of one thread each, registered with `head`. */
  async runners(head: string, n = 1, token = TOKEN): Promise<LocalRunners> {
    const r = await startLocalRunners({ runners: n, threads: 1, token, join: head });
    this.runnerSets.push(r);
    return r;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.runnerSets.splice(0).map((r) => r.stop()), ...this.heads.splice(0).map((h) => h.stop())]);
  }
}

export { kill9 } from "../helpers.ts";

export { stopProcess };

/** Resolves once `cluster` has `n` live runners (awaiting "runner" events, not polling). */
export function liveRunners(cluster: Cluster, n: number): Promise<void> {
  const enough = (): boolean => cluster.runners.filter((r) => r.alive).length >= n;
  if (enough()) return Promise.resolve();
  return new Promise((resolve) => {
    const on = (_e: RunnerEvent): void => {
      if (!enough()) return;
      cluster.off("runner", on);
      resolve();
    };
    cluster.on("runner", on);
  });
}
