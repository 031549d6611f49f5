import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { local } from "../src/index.ts";
import { rejectionOf } from "./helpers.ts";

/** Runner processes this test process started that are still alive. */
function ourRunners(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // stat: "pid (comm) state ppid ...": comm may hold spaces, so read after its ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (ppid === process.pid && cmd.includes("runner") && cmd.includes("--exit-with-stdin")) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

// The stop hook of a local cluster is not a public option: local() hands it over itself.
describe("local() stops the runners it started", () => {
  it("when the cluster closes", async () => {
    const cluster = await local({ runners: 2, threads: 1 });
    expect(ourRunners()).toHaveLength(2);
    await cluster.close();
    expect(ourRunners()).toEqual([]);
  });

  it("when the cluster cannot be made from them", async () => {
    const err = await rejectionOf(local({ runners: 1, threads: 1, reconnect: { initialDelayMs: 10, maxDelayMs: 5 } }));
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toMatch(/reconnect/);
    expect(ourRunners()).toEqual([]);
  });
});
