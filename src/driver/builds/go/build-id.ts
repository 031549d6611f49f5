import { execFile } from "node:child_process";
import { promisify } from "node:util";

// Go stamps every archive and binary with a build ID: <action IDs>/<content ID>, where an
// action ID hashes the inputs of the step (including the content IDs of its dependencies) and
// the content ID hashes the file with the build ID itself zeroed. `go build -n` cannot know
// the content IDs of dependencies it has not built, so a planned build's action IDs differ
// from a local build's; the content IDs, and every other byte, are the same. Comparing two
// builds "as Go does" therefore means comparing them with the build ID zeroed.

const run = promisify(execFile);

/** The build ID Go stamped into `file` (an archive or a binary). */
export async function readBuildId(file: string, go = "go"): Promise<string> {
  const { stdout } = await run(go, ["tool", "buildid", file]);
  return stdout.trim();
}

/** `bytes` with every occurrence of `id` replaced by zeros, as Go hashes a file for its content ID. */
export function zeroBuildId(bytes: Uint8Array, id: string): Buffer {
  const out = Buffer.from(bytes);
  const needle = Buffer.from(id, "utf8");
  if (needle.length === 0) return out;
  for (let at = out.indexOf(needle); at >= 0; at = out.indexOf(needle, at + needle.length)) out.fill(0, at, at + needle.length);
  return out;
}

/** The content ID part of a build ID: the last of its slash-separated parts. */
export function contentId(buildId: string): string {
  return buildId.slice(buildId.lastIndexOf("/") + 1);
}
