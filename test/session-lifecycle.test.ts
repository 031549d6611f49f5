import { readFileSync } from "node:fs";
import { pino, type Logger } from "pino";
import { describe, expect, it } from "vitest";
import { RunnerDaemon, type Remote } from "../src/index.ts";
import { fixture, handDriver, testCluster } from "./helpers.ts";

type M = typeof import("./fixtures/math.ts");

/** A logger whose JSON lines the test can read. */
function capturedLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: pino({ level: "info" }, { write: (line: string) => void lines.push(line) }), lines };
}

describe("session lifecycle", () => {
  it("local() from source starts runners from the esbuild bundle, not through tsx", async () => {
    await using cluster = await testCluster(1);
    const m: Remote<M> = await cluster.import<M>(fixture("math.ts"));
    expect(await m.add(1, 1)).toBe(2);
    const argv = readFileSync(`/proc/${cluster.runners[0]!.pid}/cmdline`, "utf8").split("\0");
    expect(argv.some((a) => a.includes("runner-dev") && a.endsWith("main.js"))).toBe(true);
    expect(argv.some((a) => a.includes("tsx"))).toBe(false);
  });

  it("a runner drops a driver that stays silent longer than its heartbeat timeout", async () => {
    const { logger, lines } = capturedLogger();
    const daemon = await RunnerDaemon.start({ port: 0, threads: 1, logger, heartbeat: { intervalMs: 50, timeoutMs: 300 } });
    try {
      // A driver made by hand sends no heartbeats.
      const driver = await handDriver(daemon.address);
      await expect(driver.next()).rejects.toThrow();
      expect(lines.join("\n")).toMatch(/driver silent, dropping session/);
    } finally {
      await daemon.close();
    }
  });
});
