import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ActionCache } from "../../src/runner/exec/action-cache.ts";
import { FileCache, sha256 } from "../../src/runner/exec/file-cache.ts";

// The runner's action cache as append-only logs, one per writer: what one writer stores the
// others (threads, runners sharing the cache folder) find; an entry counts only while its
// outputs are in the file cache; a torn line is skipped; logs of gone processes are merged;
// entries of the earlier file-per-entry layout are still found.

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(): { dir: string; files: FileCache; output: { path: string; hash: string; size: number; executable: boolean } } {
  const dir = mkdtempSync(path.join(tmpdir(), "strand-action-cache-"));
  dirs.push(dir);
  const files = new FileCache(dir);
  const bytes = Buffer.from("an object file");
  const hash = sha256(bytes);
  files.writeSync(hash, false, bytes);
  return { dir, files, output: { path: "work/b001/_pkg_.a", hash, size: bytes.length, executable: false } };
}

const key = (n: number): string => sha256(Buffer.from(`action ${n}`));

describe("the runner's action cache", () => {
  it("finds what another writer on the same folder stored, after it was opened", () => {
    const { dir, files, output } = setup();
    const a = new ActionCache(dir, files);
    const b = new ActionCache(dir, files);
    expect(b.lookup(key(1))).toBeUndefined();
    a.store(key(1), { outputs: [output], stdout: "", stderr: "line one\nline two\n" });
    expect(a.lookup(key(1))?.stderr).toBe("line one\nline two\n");
    expect(b.lookup(key(1))).toEqual({ outputs: [output], stdout: "", stderr: "line one\nline two\n" });
    expect(b.lookupMany([key(1), key(2)])).toEqual([{ outputs: [output], stdout: "", stderr: "line one\nline two\n" }, null]);
    // A new cache (a new runner) reads the logs at once; one file per writer, no file per entry.
    for (let n = 2; n < 10; n++) a.store(key(n), { outputs: [output], stdout: "", stderr: "" });
    const c = new ActionCache(dir, files);
    expect(c.lookupMany([key(1), key(9)]).every((e) => e !== null)).toBe(true);
    expect(readdirSync(path.join(dir, "actions")).filter((n) => n.endsWith(".log"))).toHaveLength(1);
  });

  it("counts an entry only while its outputs are in the file cache", () => {
    const { dir, files, output } = setup();
    const a = new ActionCache(dir, files);
    a.store(key(1), { outputs: [{ ...output, hash: sha256(Buffer.from("never kept")) }], stdout: "", stderr: "" });
    expect(a.lookup(key(1))).toBeUndefined();
  });

  it("skips a torn line and a line still being written", () => {
    const { dir, files, output } = setup();
    const log = path.join(dir, "actions", `${process.pid}-99-0badf00d.log`);
    mkdirSync(path.dirname(log), { recursive: true });
    writeFileSync(log, `{"key":"${key(1)}","outputs":[{"pa\n${JSON.stringify({ key: key(2), outputs: [output], stdout: "", stderr: "" })}\n{"key":"${key(3)}"`);
    const a = new ActionCache(dir, files);
    expect(a.lookup(key(1))).toBeUndefined();
    expect(a.lookup(key(2))?.outputs).toEqual([output]);
    expect(a.lookup(key(3))).toBeUndefined();
    // The writer finishes its line: now it is read.
    appendFileSync(log, `,"outputs":${JSON.stringify([output])},"stdout":"","stderr":""}\n`);
    expect(a.lookup(key(3))?.outputs).toEqual([output]);
  });

  it("merges the logs of processes that are gone once there are many, losing no entry", () => {
    const { dir, files, output } = setup();
    const actions = path.join(dir, "actions");
    mkdirSync(actions, { recursive: true });
    // pid 2^22 + n: above Linux's default pid_max of 4,194,304, so no such process.
    for (let n = 0; n < 20; n++) writeFileSync(path.join(actions, `${4194305 + n}-1-0000000${n % 10}.log`), `${JSON.stringify({ key: key(n), outputs: [output], stdout: `${n}`, stderr: "" })}\n`);
    const a = new ActionCache(dir, files);
    expect(readdirSync(actions).filter((n) => n.endsWith(".log"))).toEqual([expect.stringMatching(/^merged-[0-9a-f]+\.log$/)]);
    for (let n = 0; n < 20; n++) expect(a.lookup(key(n))?.stdout).toBe(`${n}`);
    expect(new ActionCache(dir, files).lookup(key(19))?.stdout).toBe("19");
  });

  it("still finds an entry of the earlier layout (a file per key)", () => {
    const { dir, files, output } = setup();
    const k = key(7);
    mkdirSync(path.join(dir, "actions", k.slice(0, 2)), { recursive: true });
    writeFileSync(path.join(dir, "actions", k.slice(0, 2), `${k}.json`), JSON.stringify({ outputs: [output], stdout: "old", stderr: "" }));
    expect(new ActionCache(dir, files).lookup(k)?.stdout).toBe("old");
  });
});
