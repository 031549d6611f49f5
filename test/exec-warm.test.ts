import { createHash, randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalRunners, type LocalRunners } from "../src/driver/local.ts";
import { connect, type ExecResult } from "../src/index.ts";
import { appears, exists } from "./file-waits.ts";
import { removeDir, tempDir } from "./helpers.ts";

// cluster.warmExec() (driver/builds/exec.ts Execs.warm): a build readies its runners for
// commands while it plans. It runs no command and takes no thread; afterwards the very first
// commands go down the threads' lanes, so one queued ahead is set up while the thread's
// command still runs (without it, a runner's first command comes down its main connection,
// where the next waits behind it unprepared). Every wait is on an event, not a time.

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

describe("exec: runners readied for commands before the first", () => {
  let dir: string;
  let runners: LocalRunners;
  beforeAll(async () => {
    dir = await tempDir("strand-exec-warm-");
    runners = await startLocalRunners({ runners: 1, threads: 1, token: "exec-warm-test-token", cacheDir: path.join(dir, "cache") });
  }, 90_000);
  afterAll(async () => {
    await runners.stop();
    await removeDir(dir);
  }, 90_000);

  it("runs nothing, and the first commands are then queued ahead as on a warm runner", async () => {
    await using cluster = await connect({ runners: runners.addresses, token: runners.token, reconnect: false });
    await Promise.all([cluster.warmExec(), cluster.warmExec()]);
    await cluster.warmExec(); // once per runner: a second call is the first one's promise
    expect(cluster.execStats.ran).toBe(0);
    expect(cluster.execStats.cached).toBe(0);

    const gate = path.join(dir, `gate-${randomUUID()}`);
    await mkdir(gate);
    let aDone = false;
    const a = cluster.exec({
      argv: ["sh", "-c", `touch "$G/a-running"; while [ ! -e "$G/open" ]; do sleep 0.02; done; rm -f "$G/a-running"`],
      env: { G: gate, NONCE: randomUUID() }, inputs: {}, outputs: [],
    }, { label: "a", priority: 2 }).then((r) => {
      aDone = true;
      return r;
    });
    await appears(gate, "a-running");
    const bytes = new TextEncoder().encode(`input ${randomUUID()}`);
    const input = await cluster.putBytes(bytes);
    const b = cluster.exec({ argv: ["sh", "-c", `if [ -e "$G/a-running" ]; then echo "started while a ran" >&2; exit 1; fi; cp in out`], env: { G: gate, NONCE: randomUUID() }, inputs: { in: input }, outputs: ["out"] }, { label: "b", priority: 1 });
    // b's input reaches the runner's file cache while a still runs: b came down a lane and is being set up there.
    await exists(path.join(dir, "cache", "exec", "files", sha(bytes)));
    expect(aDone).toBe(false);
    await writeFile(path.join(gate, "open"), "");
    await a;
    const rb: ExecResult = await b;
    expect(rb.timings.ahead).toBe(true);
    expect(rb.outputs["out"]!.size).toBe(bytes.byteLength);
    expect(cluster.execStats.ran).toBe(2);
  }, 90_000);
});
