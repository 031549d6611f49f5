import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FileHashes } from "../../src/driver/builds/file-hashes.ts";

// The driver's file hashes kept by stat between processes: an unchanged file is answered by
// its stat, any change of size, mtime, ctime or inode is a miss, and a file modified just
// before it was hashed is not recorded (it may change again within the clock's granularity).

describe("FileHashes", () => {
  const dir = mkdtempSync(join(tmpdir(), "strand-file-hashes-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const old = (name: string, text: string): string => {
    const f = join(dir, name);
    writeFileSync(f, text);
    utimesSync(f, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    return f;
  };

  it("answers an unchanged file from its stat, in this process and the next", () => {
    const f = old("a.go", "package a\n");
    const store = join(dir, "hashes.json");
    const hashes = new FileHashes(store);
    expect(hashes.lookup(f, statSync(f))).toBeUndefined();
    // ctime is the inode change just made: recorded once it is 2 s old, as after a real edit.
    hashes.record(f, statSync(f), "h1", Date.now() + 5000);
    expect(hashes.lookup(f, statSync(f))).toBe("h1");
    hashes.flush();
    const next = new FileHashes(store);
    expect(next.lookup(f, statSync(f))).toBe("h1");
  });

  it("misses once the file changes, and does not record a file modified just now", () => {
    const f = old("b.go", "package b\n");
    const hashes = new FileHashes(undefined);
    hashes.record(f, statSync(f), "h1", Date.now() + 5000);
    writeFileSync(f, "package b // edited\n");
    expect(hashes.lookup(f, statSync(f))).toBeUndefined();
    hashes.record(f, statSync(f), "h2", Date.now());
    expect(hashes.lookup(f, statSync(f))).toBeUndefined();
  });
});
