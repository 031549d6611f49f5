import { describe, expect, it } from "vitest";
import { validateGraph, type GraphAction } from "../../src/index.ts";
import { ACTION_BYTES, longestPaths } from "../../src/driver/builds/priority.ts";

// A command graph's priorities (driver/builds/priority.ts): the longest path to the end, each
// action weighing a fixed cost plus the bytes it reads of the driver's files.

const act = (id: string, deps: string[], source: number): GraphAction => ({
  id, argv: ["true"], outputs: [`${id}.out`],
  inputs: {
    ...Object.fromEntries(deps.map((d) => [`${d}.out`, { action: d, output: `${d}.out` }])),
    ...(source > 0 ? { [`${id}.src`]: { file: `/src/${id}-${source}` } } : {}),
  },
});

/** The bytes an action reads of the driver's files: here, named in its file input. */
const bytesRead = (a: GraphAction): number =>
  Object.values(a.inputs).reduce((s, i) => s + ("file" in i ? Number(i.file.split("-").pop()) : 0), 0);

describe("command graphs: which action is most urgent", () => {
  it("counts every action on the path, and what each reads", () => {
    const order = validateGraph({ actions: [act("a", [], 500), act("b", ["a"], 0), act("link", ["b"], 0)] });
    const h = longestPaths(order, bytesRead);
    expect(h.get("link")).toBe(ACTION_BYTES);
    expect(h.get("b")).toBe(2 * ACTION_BYTES);
    expect(h.get("a")).toBe(3 * ACTION_BYTES + 500);
  });

  it("puts a big package before a small one with as many actions behind it", () => {
    // big and small are read by the same link: equal chains of actions, unequal sources.
    const order = validateGraph({ actions: [act("small", [], 2_000), act("big", [], 1_800_000), act("link", ["small", "big"], 0)] });
    const h = longestPaths(order, bytesRead);
    expect(h.get("big")!).toBeGreaterThan(h.get("small")!);
  });

  it("still puts a long chain of small actions before one small action with nothing behind it", () => {
    const chain = [act("c0", [], 1_000), ...Array.from({ length: 4 }, (_, i) => act(`c${i + 1}`, [`c${i}`], 1_000))];
    const order = validateGraph({ actions: [...chain, act("lone", [], 5_000)] });
    const h = longestPaths(order, bytesRead);
    expect(h.get("c0")!).toBeGreaterThan(h.get("lone")!);
    // The longest of two paths counts, not their sum.
    const diamond = validateGraph({ actions: [act("r", [], 0), act("x", ["r"], 100), act("y", ["r"], 900), act("z", ["x", "y"], 0)] });
    const d = longestPaths(diamond, bytesRead);
    expect(d.get("r")).toBe(3 * ACTION_BYTES + 900);
  });
});
