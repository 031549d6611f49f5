import { existsSync } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandError, local, SandboxError, type Cluster, type ExecSpec } from "../src/index.ts";
import { removeDir, tempDir } from "./helpers.ts";

// Each command runs in a fresh directory of its own, named at random, holding hard links to
// its inputs; its declared paths cannot leave it, an output that leads out of it (a symlink)
// is refused, and the directory is gone once the command ends.

describe("exec sandboxes", () => {
  let dir: string;
  let cluster: Cluster;
  beforeAll(async () => {
    dir = await tempDir("strand-sandbox-");
    await mkdir(path.join(dir, "outside"));
    await writeFile(path.join(dir, "in.txt"), "input\n");
    cluster = await local({ runners: 1, threads: 2, cacheDir: path.join(dir, "cache") });
  });
  afterAll(async () => {
    await cluster.close();
    await removeDir(dir);
  });

  it("refuses declared paths that leave the sandbox, before anything runs", async () => {
    const f = await cluster.putFile(path.join(dir, "in.txt"));
    const attempts: ExecSpec[] = [
      { argv: ["true"], inputs: { "../in.txt": f }, outputs: [] },
      { argv: ["true"], inputs: { "a/../../in.txt": f }, outputs: [] },
      { argv: ["true"], inputs: {}, outputs: [path.join(dir, "outside", "x")] },
      { argv: ["true"], inputs: {}, outputs: ["../x"] },
      { argv: ["true"], inputs: {}, outputs: [], cwd: "../.." },
      { argv: ["true"], inputs: { "a.txt": f }, outputs: ["a.txt/b"] },
    ];
    for (const spec of attempts) {
      const err = await cluster.exec(spec).catch((e: unknown) => e);
      expect(err, JSON.stringify(spec)).toBeInstanceOf(SandboxError);
    }
    expect(cluster.stats.calls).toBe(0);
  });

  it("refuses an output the command made a symlink, or put behind one, leading out", async () => {
    const target = path.join(dir, "outside");
    const link = await cluster.exec({ argv: ["ln", "-s", "/etc/hostname", "out"], inputs: {}, outputs: ["out"] }).catch((e: unknown) => e);
    expect(link).toBeInstanceOf(SandboxError);
    expect((link as SandboxError).reason).toMatch(/symlink/);
    const behind = await cluster.exec({
      argv: ["sh", "-c", `rmdir sub && ln -s ${target} sub && echo planted > sub/out`], inputs: {}, outputs: ["sub/out"],
    }).catch((e: unknown) => e);
    expect(behind).toBeInstanceOf(SandboxError);
    expect((behind as SandboxError).reason).toMatch(/leads out of the sandbox/);
    // The runner moved nothing out of there into its cache.
    expect(await readdir(target)).toEqual(["out"]);
  });

  it("gives each command a fresh directory, gone when it ends, with its inputs hard-linked from the runner's file cache", async () => {
    const f = await cluster.putFile(path.join(dir, "in.txt"));
    const first = await cluster.exec({ argv: ["sh", "-c", "pwd; stat -c %h in.txt; echo secret > secret; cat in.txt"], inputs: { "in.txt": f }, outputs: [] });
    const [where, links, content] = first.stdout.trim().split("\n");
    expect(Number(links)).toBeGreaterThanOrEqual(2); // the cache's copy and the sandbox's name for it
    expect(content).toBe("input");
    expect(existsSync(where!)).toBe(false);
    const second = await cluster.exec({ argv: ["sh", "-c", "pwd; cat ../*/secret"], inputs: {}, outputs: [] }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(CommandError);
    expect((second as CommandError).stderr).toMatch(/No such file/);
  });
});
