import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { local, ObjectLostError, type Cluster } from "../src/index.ts";
import { removeDir, tempDir } from "./helpers.ts";

// The kinds of input a command takes (a directory with its executable bits, bytes, a Ref of
// bytes) and getFile writing an output back here, mode included.

describe("exec inputs and outputs", () => {
  let dir: string;
  let cluster: Cluster;
  beforeAll(async () => {
    dir = await tempDir("strand-exec-inputs-");
    await mkdir(path.join(dir, "tree", "sub"), { recursive: true });
    await writeFile(path.join(dir, "tree", "run.sh"), "#!/bin/sh\necho \"ran with $(cat sub/data.txt)\"\n");
    await chmod(path.join(dir, "tree", "run.sh"), 0o755);
    await writeFile(path.join(dir, "tree", "sub", "data.txt"), "data");
    cluster = await local({ runners: 1, threads: 1, cacheDir: path.join(dir, "cache") });
  }, 90_000);
  afterAll(async () => {
    await cluster.close();
    await removeDir(dir);
  });

  it("takes a directory (executable bits kept), bytes and a Ref of bytes; getFile writes outputs with their mode", async () => {
    const tree = await cluster.putDir(path.join(dir, "tree"));
    expect(Object.keys(tree.files).sort()).toEqual(["run.sh", "sub/data.txt"]);
    expect(tree.files["run.sh"]!.executable).toBe(true);
    expect(tree.files["sub/data.txt"]!.executable).toBe(false);
    const note = await cluster.putBytes(new TextEncoder().encode("from bytes"));
    const ref = await cluster.put(new TextEncoder().encode("from a ref"));
    const r = await cluster.exec({
      argv: ["sh", "-c", "cd tree && ./run.sh > ../out/log && cat ../note ../ref.txt >> ../out/log && cp run.sh ../out/tool"],
      inputs: { tree, note, "ref.txt": ref },
      outputs: ["out/log", "out/tool"],
    });
    expect(r.outputs["out/tool"]!.executable).toBe(true);
    expect(r.outputs["out/log"]!.executable).toBe(false);
    await cluster.getFile(r.outputs["out/log"]!, path.join(dir, "got", "log"));
    await cluster.getFile(r.outputs["out/tool"]!, path.join(dir, "got", "tool"));
    expect(await readFile(path.join(dir, "got", "log"), "utf8")).toBe("ran with data\nfrom bytesfrom a ref");
    expect((await stat(path.join(dir, "got", "tool"))).mode & 0o111).not.toBe(0);
  }, 90_000);

  it("refuses a FileRef this cluster never made", async () => {
    const err = await cluster.exec({ argv: ["true"], inputs: { x: { hash: "0".repeat(64), size: 1, executable: false } }, outputs: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectLostError);
  });
});
