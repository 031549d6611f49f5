import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileCache, sha256 } from "../../src/runner/exec/file-cache.ts";
import { pidOfArea, Sandboxes } from "../../src/runner/exec/sandbox.ts";

// A sandbox whose setup fails says which piece was missing, and a thread's sandboxes get over
// the loss of their folders (issue 18): on the real file system, in this process.

describe("sandbox setup failures", () => {
  let dir: string;
  let files: FileCache;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "strand-sandbox-setup-"));
    files = new FileCache(dir);
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("names the missing piece of a failed link: the cached file, or the sandbox's folder", () => {
    const boxes = new Sandboxes(path.join(dir, "sandboxes"), 1);
    const bytes = Buffer.from("# import config\n");
    const hash = sha256(bytes);
    files.writeSync(hash, false, bytes);
    const box = boxes.take(["work/b231/importcfg"], ".");
    const dest = box.file("work/b231/importcfg");
    files.linkTo(hash, false, dest);
    unlinkSync(dest);

    rmSync(path.join(box.root, "work"), { recursive: true });
    const noFolder = (() => { try { files.linkTo(hash, false, dest); } catch (e) { return e; } })();
    expect(files.explainLinkFailure(hash, false, dest, box.root, noFolder)).toMatch(/^its folder work is missing from the sandbox /);

    unlinkSync(files.pathOf(hash, false));
    const noFile = (() => { try { files.linkTo(hash, false, dest); } catch (e) { return e; } })();
    expect(files.explainLinkFailure(hash, false, dest, box.root, noFile)).toMatch(/the input's file [0-9a-f]{12}… is missing from the runner's file cache/);
  });

  it("keeps an entry's first copy through later writes and adoptions of the same bytes, and no temporaries", () => {
    const bytes = Buffer.from("same bytes\n");
    const hash = sha256(bytes);
    files.writeSync(hash, false, bytes);
    const entry = files.pathOf(hash, false);
    const { ino } = statSync(entry);
    new FileCache(dir).writeSync(hash, false, bytes);
    const made = path.join(dir, "made");
    writeFileSync(made, bytes);
    expect(files.adopt(made, false)).toEqual({ hash, size: bytes.byteLength });
    expect(existsSync(made)).toBe(false);
    expect(statSync(entry).ino).toBe(ino);
    expect(readdirSync(files.tmp)).toEqual([]);
  });

  it("gets over its folder removed from under it: the box in use is dropped, the next is made afresh", () => {
    const boxes = new Sandboxes(path.join(dir, "sandboxes"), 1);
    const a = boxes.take(["work/b001/x", "src/a/b/y"], ".");
    boxes.give(a);
    rmSync(boxes.area, { recursive: true });
    // The idle box's folders are gone: shaping it fails, and it is not kept.
    expect(() => boxes.take(["work/b002/x"], ".")).toThrow();
    const b = boxes.take(["work/b002/x", "src/c/z"], "src/c");
    expect(existsSync(path.join(b.root, "work/b002"))).toBe(true);
    expect(existsSync(path.join(b.root, "src/c"))).toBe(true);
    boxes.give(b);
    const c = boxes.take(["q/r"], ".");
    expect(c.root).toBe(b.root);
    expect(existsSync(path.join(c.root, "q"))).toBe(true);
    expect(existsSync(path.join(c.root, "work"))).toBe(false);
  });

  it("sweeps only this host's folders of dead processes", () => {
    expect(pidOfArea("myhost-123-1-0a1b2c3d", "myhost")).toBe(123);
    expect(pidOfArea("my-host.example-123-1-0a1b2c3d", "my-host.example")).toBe(123);
    expect(pidOfArea("otherhost-123-1-0a1b2c3d", "myhost")).toBeUndefined();
    expect(pidOfArea("123-1-0a1b2c3d", "myhost")).toBe(123); // an older runner's name: judged by pid, as before
    expect(pidOfArea("spare", "myhost")).toBeUndefined();
  });
});
