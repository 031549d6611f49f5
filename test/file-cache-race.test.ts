import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeDir, tempDir } from "./helpers.ts";

// Issue 18's once-seen ENOENT, made to happen: two runners sharing a file cache, given the
// same inline input at once, both found it missing and both wrote it; the second copy,
// renamed over the first, took the first's last link away while the first runner was
// hard-linking that entry into a sandbox, and link(2) refuses an inode with no links left
// (ENOENT). Entries are now linked into place and never replaced (file-cache.ts). Two
// threads of one process race as two runners would (the kernel does not care which); with
// the old rename, this failed 5-40 times in 32,000 links (a loaded 2-core machine).

const run = promisify(execFile);

describe("a file cache shared by two writers", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir("strand-file-cache-race-");
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it("never loses an entry from under a link: two threads writing and linking the same new files at once", async () => {
    const script = new URL("./fixtures/file-cache-race.ts", import.meta.url).pathname;
    const { stdout } = await run(process.execPath, ["--import", "tsx", script, path.join(dir, "exec"), "2000"], { maxBuffer: 16 << 20 });
    const result = JSON.parse(stdout.trim().split("\n").pop()!) as { links: number; linked: number; failures: string[] };
    expect(result.failures.slice(0, 5)).toEqual([]);
    expect(result.linked).toBe(result.links);
  }, 180_000);
});
