import { describe, expect, it } from "vitest";
import { GraphError, SandboxError, validateGraph, type Graph, type GraphAction } from "../../src/index.ts";
import { checkLayout, sandboxPath } from "../../src/protocol/sandbox-paths.ts";
import { meets, parseRequirement, type ToolInfo } from "../../src/protocol/exec-wire.ts";

// What a command graph and a command may declare, checked before anything runs.

const act = (id: string, deps: string[] = [], more: Partial<GraphAction> = {}): GraphAction => ({
  id, argv: ["true"], outputs: [`${id}.out`],
  inputs: Object.fromEntries(deps.map((d) => [`${d}.out`, { action: d, output: `${d}.out` }])), ...more,
});

describe("command graphs: validation", () => {
  it("orders actions after the actions they read from", () => {
    const order = validateGraph({ actions: [act("link", ["a", "b"]), act("b", ["a"]), act("a")] }).map((a) => a.id);
    expect(order.indexOf("a")).toBeLessThan(order.indexOf("b"));
    expect(order.indexOf("b")).toBeLessThan(order.indexOf("link"));
  });

  it("refuses cycles, duplicate ids, unknown actions and undeclared outputs", () => {
    const bad: [Graph, RegExp][] = [
      [{ actions: [act("a", ["b"]), act("b", ["a"])] }, /cycle through/],
      [{ actions: [act("a"), act("a")] }, /two actions have the id "a"/],
      [{ actions: [act("a", ["nope"])] }, /reads from action "nope", which the graph does not have/],
      [{ actions: [act("a"), act("b", [], { inputs: { x: { action: "a", output: "other" } } })] }, /reads "other", which action a does not declare/],
      [{ actions: [act("a")], results: { out: { action: "a", output: "missing" } } }, /result out reads "missing"/],
      [{ actions: [act("a", [], { argv: [] })] }, /argv must be a non-empty list/],
      [{ actions: [act("a", [], { inputs: { x: { nope: 1 } as never } })] }, /must be \{ file \}, \{ dir \}, \{ action, output \} or \{ bytes \}/],
    ];
    for (const [g, re] of bad) expect(() => validateGraph(g)).toThrow(re);
    expect(() => validateGraph({ actions: [act("a", ["b"]), act("b", ["a"])] })).toThrow(GraphError);
  });

  it("refuses paths that would leave an action's sandbox", () => {
    expect(() => validateGraph({ actions: [act("a", [], { outputs: ["../x"] })] })).toThrow(SandboxError);
    expect(() => validateGraph({ actions: [act("a", [], { cwd: "/tmp" })] })).toThrow(SandboxError);
  });
});

describe("sandbox paths", () => {
  it("normalizes relative paths and refuses the rest", () => {
    expect(sandboxPath("./a//b/")).toBe("a/b");
    expect(sandboxPath(".", true)).toBe(".");
    for (const p of ["", "/etc/passwd", "..", "a/../../b", "a/..", "a\\b", "a\0b", "."]) expect(() => sandboxPath(p), p).toThrow(SandboxError);
  });

  it("refuses a path named twice, or used both as a file and as a directory", () => {
    expect(() => checkLayout(["a.c"], ["a.c"])).toThrow(/named twice/);
    expect(() => checkLayout(["dir"], ["dir/x.o"])).toThrow(/dir is a file of the action/);
    expect(() => checkLayout(["src/a.c", "src/b.c"], ["out/a.o"])).not.toThrow();
  });
});

describe("tool requirements", () => {
  const gcc: ToolInfo = { name: "gcc", version: "12", hash: "75e997ec".padEnd(64, "0"), about: "gcc (Debian 12.2.0-14) 12.2.0" };
  it("match by name, by exact version, or by 8+ hex digits of the binary's hash", () => {
    expect(meets(gcc, "gcc")).toBe(true);
    expect(meets(gcc, "gcc@12")).toBe(true);
    expect(meets(gcc, "gcc@75e997ec")).toBe(true);
    expect(meets(gcc, "gcc@75e9")).toBe(false); // too short to name a binary
    expect(meets(gcc, "gcc@13")).toBe(false);
    expect(meets(gcc, "clang")).toBe(false);
    expect(() => parseRequirement("gcc@")).toThrow(TypeError);
    expect(() => parseRequirement("g c c")).toThrow(TypeError);
  });
});
