import { closeSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ObjectLostError } from "../../src/errors.ts";
import { stampBuildId, stampBuildIdIn, writeStamp } from "../../src/protocol/build-id-stamp.ts";
import { FileCache, sha256 } from "../../src/runner/exec/file-cache.ts";
import { Sandboxes } from "../../src/runner/exec/sandbox.ts";
import { readWhole } from "../../src/runner/exec/whole-file.ts";

// What a runner thread does per action without temporaries (session 28): an input that came
// with the action is written at its place in the sandbox and that file linked into the file
// cache; an output is read once, into the thread's buffer, to stamp and hash it. On the real
// file system, in this process.

describe("exec: inline inputs, outputs read once", () => {
  let dir: string;
  let files: FileCache;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "strand-exec-inline-"));
    files = new FileCache(dir);
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes an inline input into the sandbox, the same file as the cache's entry, and no temporary", () => {
    const boxes = new Sandboxes(path.join(dir, "sandboxes"), 1);
    const bytes = Buffer.from("packagefile fmt=$WORK/b002/_pkg_.a\n");
    const hash = sha256(bytes);
    const box = boxes.take(["work/b001/importcfg"], ".");
    const dest = box.file("work/b001/importcfg");
    files.writeInto(hash, false, bytes, dest);
    expect(readFileSync(dest)).toEqual(bytes);
    expect(files.has(hash, false)).toBe(true);
    expect(statSync(dest).ino).toBe(statSync(files.pathOf(hash, false)).ino);
    expect(statSync(dest).mode & 0o777).toBe(0o444);
    expect(readdirSync(files.tmp)).toEqual([]);
    // The sandbox emptied, the entry stays.
    boxes.give(box);
    expect(existsSync(dest)).toBe(false);
    expect(readFileSync(files.pathOf(hash, false))).toEqual(bytes);
  });

  it("links an inline input the cache already holds (another runner wrote it), and refuses bytes that are not the hash's", () => {
    const boxes = new Sandboxes(path.join(dir, "sandboxes"), 1);
    const bytes = Buffer.from("#!/bin/sh\necho hi\n");
    const hash = sha256(bytes);
    new FileCache(dir).writeSync(hash, true, bytes);
    const { ino } = statSync(files.pathOf(hash, true));
    const box = boxes.take(["bin/run", "other"], ".");
    files.writeInto(hash, true, bytes, box.file("bin/run"));
    expect(statSync(box.file("bin/run")).ino).toBe(ino);
    expect(statSync(box.file("bin/run")).mode & 0o777).toBe(0o555);
    expect(() => files.writeInto(hash, false, Buffer.from("other bytes"), box.file("other"))).toThrow(ObjectLostError);
    expect(existsSync(box.file("other"))).toBe(false);
  });

  it("fails with ENOENT when the input's folder is missing, writing nothing to the cache", () => {
    const bytes = Buffer.from("x");
    const hash = sha256(bytes);
    const err = (() => { try { files.writeInto(hash, false, bytes, path.join(dir, "no", "such", "folder", "f")); } catch (e) { return e as NodeJS.ErrnoException; } })();
    expect(err?.code).toBe("ENOENT");
    expect(files.has(hash, false)).toBe(false);
  });

  it("reads files whole into one buffer it keeps, however their sizes vary", () => {
    const sizes = [0, 1, 70_000, 5, 300_000, 64 * 1024, 1_000_000, 3];
    for (const [k, size] of sizes.entries()) {
      const f = path.join(dir, `f${k}`);
      const content = Buffer.alloc(size, k + 1);
      writeFileSync(f, content);
      const { bytes, fd } = readWhole(f);
      closeSync(fd);
      expect(bytes.equals(content)).toBe(true);
    }
  });

  it("stamps a build ID in the bytes it read as stampBuildId stamps the file, and adopts what it stamped", () => {
    const id = "abcdefghijklmnopqrst/uvwxyzABCDEFGHIJKLMN";
    const content = Buffer.concat([Buffer.from("\x7fELF...go.buildid "), Buffer.from(id, "latin1"), Buffer.alloc(5000, 7), Buffer.from(id, "latin1"), Buffer.from("end")]);
    const a = path.join(dir, "a.out");
    const b = path.join(dir, "b.out");
    writeFileSync(a, content);
    writeFileSync(b, content);
    const next = stampBuildId(a, id);
    const { bytes, fd } = readWhole(b, true);
    const stamped = stampBuildIdIn(bytes, id);
    writeStamp(fd, stamped.id, stamped.at);
    closeSync(fd);
    expect(stamped.id).toBe(next);
    expect(stamped.at).toHaveLength(2);
    expect(readFileSync(b)).toEqual(readFileSync(a));
    // The bytes in memory are the stamped file's: adopting from them gives the file's hash.
    const expected = sha256(readFileSync(a));
    expect(files.adopt(b, false, bytes)).toEqual({ hash: expected, size: content.byteLength });
    expect(readFileSync(files.pathOf(expected, false))).toEqual(readFileSync(a));
  });
});
