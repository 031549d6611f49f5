import { describe, expect, it } from "vitest";
import { RUNNER_NODE_FLAGS } from "../../src/driver/local.ts";
import { COMMANDS_BUDGET, givenBudgets, LOCAL_RUNNER_BUDGET, relaxes } from "../../src/runner/exec/tier-up.ts";

// A runner that runs commands goes back to V8's tier-up budget (runner/exec/tier-up.ts), but
// only from local()'s own: a budget the user chose stays.

describe("exec: the tier-up budget of a runner that runs commands", () => {
  it("knows local()'s budget", () => {
    expect(RUNNER_NODE_FLAGS).toContain(LOCAL_RUNNER_BUDGET);
    expect(COMMANDS_BUDGET).toMatch(/^--interrupt-budget=\d+$/);
  });

  it("relaxes local()'s budget alone", () => {
    const node = ["/usr/bin/node", "--interrupt-budget=8192", "/x/main.js", "runner", "--threads", "1"];
    expect(givenBudgets(node, "")).toEqual([LOCAL_RUNNER_BUDGET]);
    expect(relaxes(givenBudgets(node, ""))).toBe(true);
  });

  it("keeps a budget the user chose, on the command line after local()'s or in NODE_OPTIONS", () => {
    expect(relaxes(givenBudgets(["node", "--interrupt-budget=8192", "--interrupt-budget=4096", "main.js"], ""))).toBe(false);
    expect(relaxes(givenBudgets(["node", "--interrupt-budget=8192", "main.js"], "--max-old-space-size=100 --interrupt_budget=1024"))).toBe(false);
    expect(relaxes(givenBudgets(["node", "--interrupt-budget=16384", "main.js"], ""))).toBe(false);
  });

  it("has nothing to relax without a budget", () => {
    expect(relaxes(givenBudgets(["node", "main.js", "runner"], ""))).toBe(false);
  });
});
