import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { cliCommand } from "../src/driver/local.ts";
import { cleanEnv, repoRoot, runCli } from "./helpers.ts";

// Progress as a user sees it: `strand run` and `strand mpirun` in a real terminal (tmux) and piped.

const ANSI = /\x1b/; // eslint-disable-line no-control-regex
const hasTmux = spawnSync("tmux", ["-V"]).status === 0;

describe("strand run: progress piped (CI logs)", () => {
  it("plain lines while it runs and a final line with the counts, no cursor codes, stdout untouched", async () => {
    // 200 calls of ~20 ms on two single-thread runners: several of the 0.2 s periods.
    const run = runCli(["run", "--local", "2", "--progress-interval", "0.2", "examples/progress/main.ts", "--", "200", "20"]);
    expect(await run.exit).toBe(0);
    expect(run.lines).toEqual(["sum of 200 squares: 2646700"]);
    const err = run.stderr();
    expect(err).not.toMatch(ANSI);
    const lines = err.split("\n").filter((l) => l.startsWith("strand: "));
    expect(lines.at(-1)).toMatch(/^strand: finished 200\/200 calls \(200 ok, 0 failed\), [\d.]+k? calls\/s, [\d.]+s; square 200\/200$/);
    expect(lines.filter((l) => l.includes("finished"))).toHaveLength(1);
    const during = lines.slice(0, -1);
    expect(during.length).toBeGreaterThan(0);
    for (const l of during) expect(l).toMatch(/^strand: \d+\/\d+ calls \(\d+ ok, 0 failed, \d+ running\), [\d.]+k? calls\/s, \d\/2 runners busy, [\d.]+s; square \d+\/\d+$/);
  });

  it("--no-progress: nothing on stderr", async () => {
    const run = runCli(["run", "--local", "1", "--no-progress", "examples/progress/main.ts", "--", "20", "0"]);
    expect(await run.exit).toBe(0);
    expect(run.lines).toEqual(["sum of 20 squares: 2470"]);
    expect(run.stderr()).not.toMatch(/strand:/);
  });

  it("strand mpirun: ranks finished of n", async () => {
    const run = runCli(["mpirun", "-n", "4", "--local", "2", "examples/ring/ring.ts", "--", "1000"]);
    expect(await run.exit).toBe(0);
    expect(run.lines).toEqual(["6"]);
    expect(run.stderr()).toMatch(/^mpirun: finished 4\/4 ranks \(4 ok, 0 failed\), [\d.]+k? ranks\/s, [\d.]+s; main 4\/4$/m);
    expect(run.stderr()).not.toMatch(ANSI);
  });
});

describe.skipIf(!hasTmux && !process.env.CI)("strand run: progress in a real terminal (tmux)", () => {
  it("draws a live line that reaches the total, with the script's output above it", async () => {
    const socket = `strand-progress-${process.pid}`;
    const env = { ...cleanEnv(), TERM: "xterm-256color" };
    const tmux = (...args: string[]): string => {
      const r = spawnSync("tmux", ["-L", socket, ...args], { env, encoding: "utf8" });
      if (r.status !== 0) throw new Error(`tmux ${args[0]} failed: ${r.stderr}`);
      return r.stdout;
    };
    const q = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;
    const strand = [process.execPath, ...cliCommand()].map(q).join(" ");
    const cmd = `${strand} run --local 2 examples/progress/main.ts -- 200 5; echo "exit $?"; sleep 600`;
    tmux("new-session", "-d", "-s", "p", "-x", "120", "-y", "20", "-c", repoRoot, cmd);
    try {
      let screen = "";
      const deadline = Date.now() + 50_000;
      // Poll the pane (a terminal says nothing when it changes) until the script has exited.
      while (!/^exit \d+$/m.test(screen)) {
        if (Date.now() > deadline) throw new Error(`no exit in the pane after 50 s; it shows:\n${screen}`);
        await new Promise((r) => setTimeout(r, 100));
        screen = tmux("capture-pane", "-p", "-t", "p");
      }
      const lines = screen.split("\n").map((l) => l.trimEnd()).filter((l) => l !== "");
      expect(lines.at(-1)).toBe("exit 0");
      expect(lines).toContain("sum of 200 squares: 2646700");
      const bar = lines.filter((l) => l.startsWith("strand "));
      expect(bar).toHaveLength(1); // redrawn in place, never scrolled
      expect(bar[0]).toMatch(/^strand █{20} 200\/200 calls · [\d.]+k?\/s · 0\/2 runners busy · [\d.]+s · square 200\/200$/);
      expect(lines.indexOf(bar[0]!)).toBe(lines.indexOf("sum of 200 squares: 2646700") + 1); // the script's line above it
    } finally {
      spawnSync("tmux", ["-L", socket, "kill-server"], { env });
    }
  }, 60_000);
});
