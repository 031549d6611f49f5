import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { devRunnerEntry } from "../../src/driver/dev-runner.ts";
import { runnerTunables } from "../../src/driver/local.ts";
import { exited } from "../helpers.ts";
import { onExit } from "./exit-cleanup.ts";
import type { HostNet } from "./topology.ts";

export const RUNNER_PORT = 7700;

export interface RunnerSpec {
  token: string;
  threads: number;
  /** The host's own code cache: hosts share no disk, so each fetches code once. */
  cacheDir: string;
}

/**
 * `strand runner` in a host's namespace, listening on the host's address, as an operator
 * would start it there (`ip netns exec <ns> node <cli> runner --listen <ip>:7700`). Runs the
 * same bundled entry as local() does from source. `ip netns exec` execs the command in
 * place, so the child's pid is the runner's.
 */
export class NsRunner {
  readonly exit: Promise<number | NodeJS.Signals>;
  private readonly exitGuard: { release(): void };

  private constructor(readonly host: HostNet, readonly child: ChildProcess, readonly address: string) {
    this.exit = exited(child);
    this.exitGuard = onExit(() => child.kill("SIGKILL"));
    void this.exit.then(() => this.exitGuard.release());
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  static async start(host: HostNet, spec: RunnerSpec): Promise<NsRunner> {
    const entry = await devRunnerEntry();
    const address = `${host.ip}:${RUNNER_PORT}`;
    const args = [
      "netns", "exec", host.ns, process.execPath, entry, "runner", "--listen", address,
      "--threads", String(spec.threads), "--cache-dir", spec.cacheDir, "--grace", "1000", "--exit-with-stdin",
    ];
    // The token goes in the environment, as local() passes it: argv is visible to `ps`.
    const env = { ...process.env, STRAND_TOKEN: spec.token, STRAND_LOG: process.env.STRAND_LOG ?? "warn", GLIBC_TUNABLES: runnerTunables() };
    const child = spawn("ip", args, { env, stdio: ["pipe", "pipe", "inherit"] });
    const listening = await new Promise<string>((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`runner in ${host.ns} exited (${code}) before listening`));
      child.once("exit", onExit);
      child.once("error", reject);
      createInterface({ input: child.stdout! }).on("line", (line) => {
        const m = /^listening on (\S+)$/.exec(line);
        if (m === null) return;
        child.off("exit", onExit);
        resolve(m[1]!);
      });
    });
    return new NsRunner(host, child, listening);
  }

  /** kill -9: the process is gone at once; its host (namespace, link) stays up. */
  async kill9(): Promise<void> {
    this.child.kill("SIGKILL");
    await this.exit;
  }

  /** SIGTERM, as an operator stops a runner; SIGKILL if it takes longer than its grace. */
  async stop(): Promise<void> {
    if (!this.running) return;
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    this.child.kill("SIGTERM");
    await this.exit;
    clearTimeout(timer);
  }
}
