import { execFileSync, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SpawnHelperError, TimeoutError } from "../src/index.ts";
import { helperPerl, SpawnHelper, SpawnHelpers } from "../src/runner/exec/spawn-helper.ts";
import { runCommand } from "../src/runner/exec/run-command.ts";

// The process that starts a runner thread's commands (so the runner never forks itself): a
// real perl helper running real commands. A command's exit status, output and environment
// are what it would have been spawned directly; a helper killed mid-command fails that
// command with SpawnHelperError (never a hang) and the next command gets a new helper.

const perl = helperPerl();
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
/** Whether `pid` still runs (a zombie waiting for its reaper does not). */
const running = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};
/** Resolves once `pid` no longer runs (SIGKILL is delivered asynchronously), or after many turns of the event loop. */
const stopped = (pid: number): Promise<boolean> => new Promise((resolve) => {
  let turns = 0;
  const check = (): void => {
    if (!running(pid)) resolve(true);
    else if (++turns > 2_000_000) resolve(false); // under CPU hogs a killed process may wait a while to be scheduled and die
    else setImmediate(check);
  };
  check();
});

describe.skipIf(perl === null)("spawn helper", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "strand-spawn-helper-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("runs commands one after another: exit status, stdout, stderr, cwd and exactly the environment given", async () => {
    const helpers = new SpawnHelpers(perl!);
    const a = await helpers.run(["sh", "-c", "pwd; echo err >&2; printf 'no newline'; exit 3"], dir, env, 0, "a");
    expect(a).toEqual({ exitCode: 3, stdout: `${dir}\nno newline`, stderr: "err\n" });
    const b = await helpers.run(["sh", "-c", 'env | grep -v "^PWD=\\|^SHLVL=\\|^_=" | sort; cat'], dir, { ...env, ONE: "1", "TWO": "a b\nc" }, 0, "b");
    expect(b.exitCode).toBe(0);
    expect(b.stdout).toBe(`ONE=1\nPATH=${env.PATH}\nTWO=a b\nc\n`); // stdin is empty (/dev/null)
    const big = await helpers.run(["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x; head -c 200000 /dev/zero | tr '\\0' y >&2"], dir, env, 0, "big");
    expect([big.stdout.length, big.stderr.length, big.stdout.replaceAll("x", ""), big.stderr.replaceAll("y", "")]).toEqual([300000, 200000, "", ""]);
    expect(helpers.pids()).toHaveLength(1); // one helper served them all
  });

  it("sends a command's stdout to its stderr when asked (a compiler printing its errors on stdout), as the runner's own spawn does", async () => {
    const helpers = new SpawnHelpers(perl!);
    const script = "echo one; echo two >&2; echo three; exit 2";
    const merged = await helpers.run(["sh", "-c", script], dir, env, 0, "merged", true);
    expect(merged).toEqual({ exitCode: 2, stdout: "", stderr: "one\ntwo\nthree\n" });
    const apart = await helpers.run(["sh", "-c", script], dir, env, 0, "apart");
    expect(apart).toEqual({ exitCode: 2, stdout: "one\nthree\n", stderr: "two\n" });
    const direct = await runCommand(["sh", "-c", script], dir, env, 0, "direct", true);
    expect(direct.stdout).toBe("");
    expect(direct.stderr.split("\n").sort()).toEqual(["", "one", "three", "two"]); // two pipes: the order between them is the scheduler's
  });

  it("reports a missing program as a shell does (127), a signal as 128 + its number", async () => {
    const helpers = new SpawnHelpers(perl!);
    const missing = await helpers.run(["no-such-program-strand"], dir, env, 0, "missing");
    expect(missing.exitCode).toBe(127);
    expect(missing.stderr).toMatch(/no-such-program-strand: command not found/);
    const killed = await helpers.run(["sh", "-c", "kill -9 $$"], dir, env, 0, "killed");
    expect(killed.exitCode).toBe(128 + 9);
  });

  it("kills a command past its timeout, and everything it started", async () => {
    const helpers = new SpawnHelpers(perl!);
    const err = await helpers.run(["sh", "-c", "sleep 600 & echo $! > bg.pid; wait"], dir, env, 1000, "slow").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    const bg = Number(readFileSync(path.join(dir, "bg.pid"), "utf8"));
    expect(await stopped(bg)).toBe(true);
    const next = await helpers.run(["sh", "-c", "echo next"], dir, env, 0, "next");
    expect(next.stdout).toBe("next\n");
  });

  it("fails the running command with SpawnHelperError when its helper is killed, and starts a new helper for the next", async () => {
    const helpers = new SpawnHelpers(perl!);
    await helpers.run(["true"], dir, env, 0, "warm");
    const [first] = helpers.pids();
    const pending = helpers.run(["sh", "-c", "echo started; sleep 600"], dir, env, 0, "compile x");
    // Kill it once the command has started (the helper has a child): polled, no sleep.
    await new Promise<void>((resolve) => {
      const poll = (): void => {
        const kids = execFileSync("ps", ["-o", "pid=", "--ppid", String(first)], { encoding: "utf8" }).trim();
        if (kids !== "") resolve();
        else setImmediate(poll);
      };
      poll();
    });
    process.kill(first!, "SIGKILL");
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpawnHelperError);
    expect((err as SpawnHelperError).action).toBe("compile x");
    expect((err as SpawnHelperError).reason).toMatch(/SIGKILL/);
    const after = await helpers.run(["sh", "-c", "echo again"], dir, env, 0, "again");
    expect(after.stdout).toBe("again\n");
    expect(helpers.pids()).not.toContain(first);
  });

  it("a command dies with its runner, even one killed with SIGKILL", async () => {
    const owner = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), path.join(import.meta.dirname, "fixtures", "helper-owner.ts"), dir], { stdio: ["ignore", "pipe", "inherit"] });
    const command = await new Promise<number>((resolve, reject) => {
      owner.once("exit", (code) => reject(new Error(`the fixture exited with ${code}`)));
      createInterface({ input: owner.stdout! }).on("line", (line) => {
        const m = /^command (\d+)$/.exec(line);
        if (m !== null) resolve(Number(m[1]));
      });
    });
    expect(running(command)).toBe(true);
    owner.removeAllListeners("exit");
    owner.kill("SIGKILL");
    expect(await stopped(command)).toBe(true);
  });

  it("a helper that is gone refuses a command at once", async () => {
    const h = new SpawnHelper(perl!);
    const pid = h.pid!;
    const exited = new Promise<void>((resolve) => {
      const check = (): void => (h.dead ? resolve() : void setImmediate(check));
      check();
    });
    process.kill(pid, "SIGKILL");
    await exited;
    await expect(h.run(["true"], dir, env, 0, "late")).rejects.toBeInstanceOf(SpawnHelperError);
  });
});
