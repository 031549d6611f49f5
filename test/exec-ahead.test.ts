import { createHash, randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalRunners, type LocalRunners } from "../src/driver/local.ts";
import { CommandError, connect, type ExecResult, type ExecSpec } from "../src/index.ts";
import { appears, exists } from "./file-waits.ts";
import { kill9, removeDir, tempDir } from "./helpers.ts";

// A command queued ahead (driver/builds/slots.ts): sent to a runner whose threads are all
// busy, it is set up there and started once the thread's command exits, never beside it; its
// failure is its own and nothing behind it hangs; its runner lost, it runs elsewhere. Every
// wait here is on an event (a command started, a send), not a time.

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** A command that runs until `gate/open` exists (and says it runs while it does). */
function blocking(gate: string, name: string): ExecSpec {
  return {
    argv: ["sh", "-c", `touch "$G/$NAME-running"; while [ ! -e "$G/open" ]; do sleep 0.02; done; rm -f "$G/$NAME-running"`],
    env: { G: gate, NAME: name, NONCE: randomUUID() }, inputs: {}, outputs: [],
  };
}

describe("exec: a command queued ahead on a busy runner", () => {
  let dir: string;
  const sets: LocalRunners[] = [];
  beforeAll(async () => {
    dir = await tempDir("strand-exec-ahead-");
    const token = "exec-ahead-test-token";
    for (const i of [0, 1]) sets.push(await startLocalRunners({ runners: 1, threads: 1, token, cacheDir: path.join(dir, `cache-${i}`) }));
  }, 90_000);
  afterAll(async () => {
    await Promise.all(sets.map((r) => r.stop()));
    await removeDir(dir);
  }, 90_000);

  /**
   * One command on each runner first: a runner's first call comes down its main connection,
   * whose thread pool runs a thread's calls one after the other; once the exec module is warm
   * there, commands go down the threads' own connections (lanes), where one queued ahead is
   * set up while the thread's command runs.
   */
  const warm = async (cluster: { exec(spec: ExecSpec): Promise<ExecResult> }, addresses: string[]): Promise<void> => {
    await Promise.all(addresses.map((runner) => cluster.exec({ argv: ["true"], env: { NONCE: randomUUID() }, inputs: {}, outputs: [], runner })));
  };

  const gateDir = async (): Promise<string> => {
    const g = path.join(dir, `gate-${randomUUID()}`);
    await mkdir(g);
    return g;
  };

  it("starts only once the thread's command exits, and its failure hangs nothing behind it", async () => {
    await using cluster = await connect({ runners: [sets[0]!.addresses[0]!], token: sets[0]!.token, reconnect: false });
    await warm(cluster, [sets[0]!.addresses[0]!]);
    const gate = await gateDir();
    let aDone = false;
    const a = cluster.exec(blocking(gate, "a"), { label: "a", priority: 3 }).then((r) => {
      aDone = true;
      return r;
    });
    await appears(gate, "a-running");
    const bytes = new TextEncoder().encode(`input ${randomUUID()}`);
    const input = await cluster.putBytes(bytes);
    // b reads an input (set up while a runs), fails if a still runs (and ends a, so as not to
    // hang), copies its input otherwise.
    let bSent!: () => void;
    const bOnItsWay = new Promise<void>((resolve) => (bSent = resolve));
    const b = cluster.exec({ argv: ["sh", "-c", `if [ -e "$G/a-running" ]; then echo "started while a ran" >&2; touch "$G/open"; exit 1; fi; cp in out`], env: { G: gate, NONCE: randomUUID() }, inputs: { in: input }, outputs: ["out"] }, { label: "b", priority: 2, onSent: () => bSent() });
    await bOnItsWay;
    expect(aDone).toBe(false); // b went while a still ran: queued ahead
    // b's input (it came with the call) is in the runner's file cache: b is there, on its way to its sandbox and its turn.
    await exists(path.join(dir, "cache-0", "exec", "files", sha(bytes)));
    // c, queued ahead next, fails; d, behind it on the driver, still runs.
    const c = cluster.exec({ argv: ["sh", "-c", "echo queued-ahead-failure >&2; exit 3"], env: { NONCE: randomUUID() }, inputs: {}, outputs: [] }, { label: "c", priority: 1 }).catch((e: unknown) => e);
    const d = cluster.exec({ argv: ["sh", "-c", "echo d > out"], env: { NONCE: randomUUID() }, inputs: {}, outputs: ["out"] }, { label: "d", priority: 0 });
    await writeFile(path.join(gate, "open"), "");

    await a;
    const rb: ExecResult = await b;
    expect(rb.timings.ahead).toBe(true);
    expect(rb.outputs["out"]!.size).toBe(bytes.byteLength);
    const err = await c;
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).stderr).toContain("queued-ahead-failure");
    expect((await d).outputs["out"]!.size).toBe(2);
  }, 90_000);

  it("queued ahead on a runner that dies, it runs on another", async () => {
    await using cluster = await connect({ runners: sets.map((s) => s.addresses[0]!), token: sets[0]!.token, reconnect: false });
    await warm(cluster, sets.map((s) => s.addresses[0]!));
    const gate = await gateDir();
    // One blocking command per runner: every thread is taken.
    const sent: string[] = [];
    let bothSent!: () => void;
    const taken = new Promise<void>((resolve) => (bothSent = resolve));
    const blockers = ["a1", "a2"].map((n) => cluster.exec(blocking(gate, n), { label: n, priority: 3, onSent: (r) => {
      sent.push(r);
      if (sent.length === 2) bothSent();
    } }));
    await taken;
    expect(new Set(sent).size).toBe(2);
    // Two more, one queued ahead on each runner (one alone would wait on the driver for the first thread to free).
    const placed: Record<string, string> = {};
    let bothPlaced!: () => void;
    const ahead = new Promise<void>((resolve) => (bothPlaced = resolve));
    const more = ["b1", "b2"].map((n) => cluster.exec({ argv: ["sh", "-c", "echo b > out"], env: { NONCE: randomUUID() }, inputs: {}, outputs: ["out"] }, { label: n, priority: 2, onSent: (r) => {
      placed[n] ??= r; // the first send: queued ahead there
      if (Object.keys(placed).length === 2) bothPlaced();
    } }));
    await ahead;
    expect(new Set(Object.values(placed)).size).toBe(2);
    const victim = placed["b1"]!;
    await kill9(sets.find((s) => s.addresses[0] === victim)!.processes[0]!);
    await writeFile(path.join(gate, "open"), "");

    const survivor = sets.map((s) => s.addresses[0]!).find((x) => x !== victim)!;
    const [r1, r2] = await Promise.all(more);
    expect(r1!.runner).toBe(survivor);
    expect(r2!.runner).toBe(survivor);
    // The victim's own blocking command ran again on the survivor too.
    for (const r of await Promise.all(blockers)) expect(r.runner).toBe(survivor);
  }, 90_000);
});
