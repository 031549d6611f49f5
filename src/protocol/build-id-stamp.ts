import { createHash } from "node:crypto";
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";

// Go's build-ID stamp (`go tool buildid -w file`), done in the runner's own process rather
// than by a `buildid` process per action. go build stamps each archive and binary right after
// the tool made it, inside the go command; Strand ran it as a second process of the action
// (plus the `sh` that sequenced the two): ~1-2 ms of CPU per action. What buildid -w does
// (cmd/buildid and cmd/internal/buildid, Go 1.19): find every occurrence of the ID the tool
// wrote, SHA-256 the file with those bytes zeroed, and overwrite each occurrence with the ID
// whose last part is the first 15 bytes of that hash in URL-safe base64 (20 characters, the
// same length). Its chunked search finds the same non-overlapping matches, left to right, as
// one search over the whole file. The go-build tests check the result byte for byte against
// go build's.

/** The ID `id` becomes once the file's content hash is `hash` (cmd/internal/buildid.HashToString). */
export function stampedId(id: string, hash: Uint8Array): string {
  const slash = id.lastIndexOf("/");
  const next = `${id.slice(0, slash)}/${Buffer.from(hash.subarray(0, 15)).toString("base64url")}`;
  if (slash < 0 || next.length !== id.length) throw new Error(`build ID ${JSON.stringify(id)} cannot be stamped (length mismatch with ${JSON.stringify(next)})`);
  return next;
}

/**
 * Stamps `data` (a whole file) in memory as `go tool buildid -w` stamps the file: the new ID,
 * and where it was written in `data` (the same places are to be written in the file). The
 * runner stamps the bytes it read to hash the output anyway, so the file is read once.
 */
export function stampBuildIdIn(data: Buffer, id: string): { id: string; at: number[] } {
  if (id === "") throw new Error("build ID stamp: no ID given");
  const needle = Buffer.from(id, "latin1");
  const matches: number[] = [];
  for (let i = data.indexOf(needle); i >= 0; i = data.indexOf(needle, i + needle.length)) matches.push(i);
  const h = createHash("sha256");
  const zeros = Buffer.alloc(needle.length);
  let from = 0;
  for (const m of matches) {
    h.update(data.subarray(from, m));
    h.update(zeros);
    from = m + needle.length;
  }
  h.update(data.subarray(from));
  const next = stampedId(id, h.digest());
  for (const m of matches) data.write(next, m, "latin1");
  return { id: next, at: matches };
}

/** Writes the stamped ID `id` at each offset `at` of the file open as `fd` (from stampBuildIdIn). */
export function writeStamp(fd: number, id: string, at: readonly number[]): void {
  const bytes = Buffer.from(id, "latin1");
  for (const m of at) writeSync(fd, bytes, 0, bytes.length, m);
}

/** Rewrites the build ID `id` in the file at `file` as `go tool buildid -w` does; returns the new ID. */
export function stampBuildId(file: string, id: string): string {
  if (id === "") throw new Error("build ID stamp: no ID given");
  const { id: next, at } = stampBuildIdIn(readFileSync(file), id);
  if (at.length === 0) return next;
  const fd = openSync(file, "r+");
  try {
    writeStamp(fd, next, at);
  } finally {
    closeSync(fd);
  }
  return next;
}
