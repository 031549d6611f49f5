import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandError, local, type Cluster } from "../src/index.ts";
import { removeDir, tempDir } from "./helpers.ts";

// A command run without a shell that still needs the runner's paths (ExecSpec.expand): the
// sandbox's absolute path and the runner's Go tool folder put into argv on the runner, the
// argv as written in the action key (two runners, one cached entry); and stdoutToStderr
// sending what a tool prints on stdout into CommandError's stderr.

describe("exec: argv expanded on the runner, stdout sent to stderr", () => {
  let dir: string;
  let cluster: Cluster;
  beforeAll(async () => {
    dir = await tempDir("strand-exec-expand-");
    cluster = await local({ runners: 1, threads: 1, cacheDir: path.join(dir, "cache") });
  }, 90_000);
  afterAll(async () => {
    await cluster.close();
    await removeDir(dir);
  });

  it("puts the sandbox's path and Go's tool folder into argv, and caches the action by argv as written", async () => {
    const spec = {
      argv: ["sh", "-c", 'printf "%s\\n%s\\n" "$1" "$2" > out; [ -x "$2/compile" ] && [ "$1" = "$PWD" ]', "sh", "${sandbox}", "${tooldir:go}"],
      inputs: {}, outputs: ["out"], expand: true, tools: ["go"],
    };
    const r = await cluster.exec(spec);
    await cluster.getFile(r.outputs["out"]!, path.join(dir, "out"));
    const [root, tools] = (await readFile(path.join(dir, "out"), "utf8")).trim().split("\n");
    expect(path.isAbsolute(root!)).toBe(true);
    expect(root).not.toContain("${sandbox}");
    expect(tools).toBe(execFileSync("go", ["env", "GOTOOLDIR"], { encoding: "utf8" }).trim());
    expect((await cluster.exec(spec)).cached).toBe(true);
    // Not expanded: the words go through as written (and it is another action).
    const plain = await cluster.exec({ ...spec, argv: ["sh", "-c", 'printf "%s" "$1" > out', "sh", "${sandbox}"], expand: false });
    await cluster.getFile(plain.outputs["out"]!, path.join(dir, "plain"));
    expect(await readFile(path.join(dir, "plain"), "utf8")).toBe("${sandbox}");
  }, 60_000);

  it("with stdoutToStderr, what a failing tool prints on stdout is in CommandError's stderr", async () => {
    const err = await cluster.exec({ argv: ["sh", "-c", "echo 'x.go:1: undefined: y'; exit 1"], inputs: {}, outputs: [], stdoutToStderr: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).stderr).toContain("x.go:1: undefined: y");
  }, 60_000);
});
