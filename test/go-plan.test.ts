import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planGoBuild, type GoPlan } from "../src/driver/builds/go/plan.ts";
import { PlanCache } from "../src/driver/builds/go/plan-cache.ts";
import { copyGoFixture } from "./go-builds.ts";

// The plan of a small program of three packages (test/fixtures/go/multi: an embedded file, an
// assembly function, one package importing another), read from the Go toolchain's own script.

describe("planning go build", () => {
  let dir: string;
  let plan: GoPlan;
  beforeAll(async () => {
    dir = copyGoFixture("multi");
    plan = await planGoBuild({ dir, packages: ["."], output: "multi" });
  }, 120_000); // go build -n: seconds on a machine busy with other builds
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const action = (id: string) => {
    const a = plan.graph.actions.find((x) => x.id === id);
    if (a === undefined) throw new Error(`no action ${id} in ${plan.graph.actions.map((x) => x.id).join(", ")}`);
    return a;
  };
  const producers = (id: string): string[] => Object.values(action(id).inputs).flatMap((i) => ("action" in i ? [i.action] : []));

  it("has one action per compile, asm, pack and link, each needing the matching toolchain", () => {
    const kinds = Object.entries(plan.steps).filter(([, s]) => s.package.startsWith("example.com/multi")).map(([id, s]) => `${s.kind}: ${id}`).sort();
    expect(kinds).toEqual([
      "asm: asm example.com/multi/calc add_amd64.s",
      "compile: compile example.com/multi",
      "compile: compile example.com/multi/calc",
      "compile: compile example.com/multi/greet",
      "link: link example.com/multi",
      "pack: pack example.com/multi/calc",
      "symabis: symabis example.com/multi/calc",
    ]);
    for (const a of plan.graph.actions) expect(a.tools).toEqual([`go@${plan.env.GOVERSION}`]);
    // The standard library is planned too: with -a, every package the program imports.
    expect(plan.steps["compile runtime"]?.kind).toBe("compile");
    expect(plan.steps["compile fmt"]?.kind).toBe("compile");
  });

  it("wires actions by their outputs: imports, then the assembly steps of a package, then the link", () => {
    expect(producers("compile example.com/multi/greet")).toEqual(expect.arrayContaining(["pack example.com/multi/calc", "compile strings"]));
    expect(producers("compile example.com/multi/calc")).toEqual(expect.arrayContaining(["symabis example.com/multi/calc", "compile strconv"]));
    expect(producers("asm example.com/multi/calc add_amd64.s")).toEqual(["compile example.com/multi/calc"]); // its go_asm.h
    expect(producers("pack example.com/multi/calc").sort()).toEqual(["asm example.com/multi/calc add_amd64.s", "compile example.com/multi/calc"]);
    const link = producers("link example.com/multi");
    expect(link).toEqual(expect.arrayContaining(["compile example.com/multi", "compile example.com/multi/greet", "pack example.com/multi/calc", "pack runtime", "compile fmt"]));
    expect(plan.binary).toEqual({ action: "link example.com/multi", output: expect.stringMatching(/^work\/b\d+\/exe\/a\.out$/), target: `${dir}/multi` });
    expect(plan.archives["example.com/multi/calc"]).toEqual({ action: "pack example.com/multi/calc", output: expect.stringMatching(/^work\/b\d+\/_pkg_\.a$/) });
  });

  it("puts every file at a sandbox path made from GOROOT, $WORK or the import path, never the driver's folders", () => {
    for (const a of plan.graph.actions) {
      for (const [at, input] of Object.entries(a.inputs)) {
        expect(at).toMatch(/^(goroot|work|mod)\//);
        expect(at).not.toContain("..");
        if ("file" in input) expect(input.file.startsWith(plan.env.GOROOT + "/") || input.file.startsWith(dir + "/")).toBe(true);
      }
      for (const out of a.outputs) {
        expect(out).toMatch(/^work\/b\d+\//);
        expect(a.inputs[out], `${a.id} reads and writes ${out}`).toBeUndefined();
      }
      const script = a.argv.join(" ");
      expect(script).not.toContain(dir);
      expect(script).not.toContain("$WORK");
      expect(Object.values(a.env ?? {}).join(" ")).not.toContain(dir);
    }
    const main = action("compile example.com/multi");
    expect(Object.keys(main.inputs)).toEqual(expect.arrayContaining(["mod/example.com/multi/main.go", "mod/example.com/multi/banner.txt"]));
    // The embedded file is named at its sandbox path in the embedcfg Go writes.
    const embedcfg = Object.entries(main.inputs).find(([at]) => at.endsWith("/embedcfg"))?.[1];
    expect(embedcfg !== undefined && "bytes" in embedcfg && Buffer.from(embedcfg.bytes, "base64").toString()).toContain('"mod/example.com/multi/banner.txt"');
    // The assembler gets the headers its file includes, from GOROOT/pkg/include and the package's go_asm.h.
    expect(Object.keys(action("asm example.com/multi/calc add_amd64.s").inputs).sort()).toEqual(
      expect.arrayContaining(["goroot/pkg/include/textflag.h", "mod/example.com/multi/calc/add_amd64.s", expect.stringMatching(/^work\/b\d+\/go_asm\.h$/)]),
    );
    // -trimpath keeps naming files by import path, now from inside the sandbox.
    // (Compile runs as the tool itself, no shell: the runner puts its sandbox's path for ${sandbox}.)
    expect(main.argv[main.argv.indexOf("-trimpath") + 1]).toContain("${sandbox}/mod/example.com/multi=>example.com/multi;");
  });

  it("turns a planning failure into an error naming the package", { timeout: 120_000 }, async () => {
    await expect(planGoBuild({ dir, packages: ["./nosuch"] })).rejects.toThrow(/go build -n failed: .*nosuch/s);
  });

  it("reuses a kept plan while nothing it was made from changes, and plans again after an edit or a new file", { timeout: 240_000 }, async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "strand-go-plans-"));
    const own = copyGoFixture("multi");
    try {
      const cache = new PlanCache(cacheDir);
      const request = { dir: own, packages: ["."], output: "multi" };
      const first = await planGoBuild(request, { cache });
      expect(first.fromCache).toBe(false);
      const again = await planGoBuild(request, { cache });
      expect(again.fromCache).toBe(true);
      expect(again.graph).toEqual(first.graph);
      // Another request (another output) is another plan.
      expect((await planGoBuild({ ...request, output: "other" }, { cache })).fromCache).toBe(false);

      const greet = join(own, "greet", "greet.go");
      writeFileSync(greet, readFileSync(greet, "utf8").replace('"hello, "', '"hi, "'));
      const edited = await planGoBuild(request, { cache });
      expect(edited.fromCache).toBe(false);
      const compileGreet = (p: GoPlan) => p.graph.actions.find((a) => a.id === "compile example.com/multi/greet")!.argv.join(" ");
      expect(compileGreet(edited)).not.toBe(compileGreet(first)); // Go's action ID hashes the source
      expect((await planGoBuild(request, { cache })).fromCache).toBe(true);

      writeFileSync(join(own, "calc", "more.go"), "package calc\n\nfunc Twice(x int64) int64 { return add(x, x) }\n");
      const grown = await planGoBuild(request, { cache });
      expect(grown.fromCache).toBe(false);
      expect(Object.keys(grown.graph.actions.find((a) => a.id === "compile example.com/multi/calc")!.inputs)).toContain("mod/example.com/multi/calc/more.go");
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
      rmSync(own, { recursive: true, force: true });
    }
  });

  it("plans again when the git state go stamps into the binary changed (vcs.modified, vcs.revision), as go build would stamp it", { timeout: 240_000 }, async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "strand-go-plans-"));
    const own = copyGoFixture("multi");
    const git = (...args: string[]): string => execFileSync("git", ["-C", own, "-c", "user.name=t", "-c", "user.email=t@t", ...args], { encoding: "utf8" });
    try {
      git("init", "-q");
      git("add", "-A");
      git("commit", "-qm", "one");
      const cache = new PlanCache(cacheDir);
      const request = { dir: own, packages: ["."], output: "multi" };
      // What the link is told of the build (its importcfg's modinfo).
      const script = (p: GoPlan): string => Object.values(p.graph.actions.find((a) => a.id.startsWith("link"))!.inputs)
        .map((i) => ("bytes" in i ? Buffer.from(i.bytes, "base64").toString("utf8") : "")).join("\n");
      const clean = await planGoBuild(request, { cache });
      expect(clean.fromCache).toBe(false);
      expect(script(clean)).toContain("vcs.modified=false");
      expect((await planGoBuild(request, { cache })).fromCache).toBe(true);
      // A file the build never reads makes the tree modified, for go: the kept plan would stamp the binary wrongly.
      writeFileSync(join(own, "NOTES"), "not source\n");
      const dirty = await planGoBuild(request, { cache });
      expect(dirty.fromCache).toBe(false);
      expect(script(dirty)).toContain("vcs.modified=true");
      expect((await planGoBuild(request, { cache })).fromCache).toBe(true);
      git("add", "-A");
      git("commit", "-qm", "two");
      const committed = await planGoBuild(request, { cache });
      expect(committed.fromCache).toBe(false);
      expect(script(committed)).toContain(`vcs.revision=${git("rev-parse", "HEAD").trim()}`);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
      rmSync(own, { recursive: true, force: true });
    }
  });
});
