import { mkdir, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { local, SandboxError, type Cluster, type ExecSpec } from "../src/index.ts";
import { removeDir, tempDir } from "./helpers.ts";

// Each command runs in a directory holding hard links to its inputs and nothing else; its
// declared paths cannot leave it, an output that leads out of it (a symlink) is refused, and
// the directory is emptied once the command ends (its folders are reused, not remade: see
// runner/exec/sandbox.ts), so no command sees another's files or folders.

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

  it("gives each command a directory of its own paths only, emptied when it ends, with its inputs hard-linked from the runner's file cache", async () => {
    const f = await cluster.putFile(path.join(dir, "in.txt"));
    const first = await cluster.exec({
      argv: ["sh", "-c", "pwd; stat -c %h a/b/in.txt; echo secret > secret; mkdir -p made/deeper; echo x > made/deeper/f; echo y > a/left; cat a/b/in.txt"],
      inputs: { "a/b/in.txt": f }, outputs: [],
    });
    const [where, links, content] = first.stdout.trim().split("\n");
    expect(Number(links)).toBeGreaterThanOrEqual(2); // the cache's copy and the sandbox's name for it
    expect(content).toBe("input");
    expect(await readdir(where!, { recursive: true })).toEqual(["a", "a/b"]);
    // Both threads' sandboxes, one after the other and at once: nothing of the first command is left to see.
    for (const run of [0, 1, 2]) {
      const ls = "find . | sort; cat ../*/secret ../*/a/left 2>/dev/null; true";
      const [one, two] = await Promise.all([
        cluster.exec({ argv: ["sh", "-c", `${ls}; : > out/o`], inputs: { "c/in.txt": f }, outputs: ["out/o"] }),
        cluster.exec({ argv: ["sh", "-c", ls], inputs: {}, outputs: [] }),
      ]);
      expect(one.stdout.trim().split("\n"), `run ${run}`).toEqual([".", "./c", "./c/in.txt", "./out"]);
      expect(two.stdout.trim().split("\n"), `run ${run}`).toEqual(["."]);
    }
  });

  it("keeps nothing a command planted in its own folders: a symlink in place of a folder is unlinked, not followed", async () => {
    const victim = path.join(dir, "outside", "victim");
    await mkdir(victim);
    await writeFile(path.join(victim, "keep.txt"), "keep\n");
    const f = await cluster.putFile(path.join(dir, "in.txt"));
    await cluster.exec({ argv: ["sh", "-c", `rm -r sub && ln -s ${victim} sub`], inputs: { "sub/in.txt": f }, outputs: [] });
    await cluster.exec({ argv: ["sh", "-c", `rm -r sub && ln -s ${victim} sub`], inputs: { "sub/in.txt": f }, outputs: [] });
    expect(await readdir(victim)).toEqual(["keep.txt"]);
    const after = await cluster.exec({ argv: ["sh", "-c", "find . | sort"], inputs: { "sub/in.txt": f }, outputs: [] });
    expect(after.stdout.trim().split("\n")).toEqual([".", "./sub", "./sub/in.txt"]);
  });
});
