import { mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { markUsed, pruneBuilds, STALE_MS, TMP_STALE_MS } from "../../src/transport/native-cache.ts";

// Old native builds (other addon sources, other Node versions) and dead builds' .tmp files are
// removed when a new build lands; a build used within STALE_MS stays, so does the one just made.
describe("native build cache pruning", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const now = Date.UTC(2026, 11, 7);
  const file = (name: string, ageMs: number): string => {
    const f = path.join(dir, name);
    writeFileSync(f, "x");
    utimesSync(f, (now - ageMs) / 1000, (now - ageMs) / 1000);
    return f;
  };

  it("removes stale builds and dead temporaries, keeps recent ones, the new one and other files", () => {
    dir = mkdtempSync(path.join(tmpdir(), "strand-native-"));
    const keep = file("block-pool-new.node", STALE_MS * 2); // just built, even if its clock says old
    file("block-pool-old.node", STALE_MS + 1000);
    file("block-pool-recent.node", STALE_MS - 60_000);
    file("block-pool-dead.node.123.tmp", TMP_STALE_MS + 1000);
    file("block-pool-building.node.456.tmp", 1000);
    file("other-addon.node", STALE_MS * 3);
    expect(pruneBuilds(dir, "block-pool-", keep, now).sort()).toEqual(["block-pool-dead.node.123.tmp", "block-pool-old.node"]);
    expect(readdirSync(dir).sort()).toEqual(["block-pool-building.node.456.tmp", "block-pool-new.node", "block-pool-recent.node", "other-addon.node"]);
  });

  it("a load marks its build used, at most once a day", () => {
    dir = mkdtempSync(path.join(tmpdir(), "strand-native-"));
    const old = file("block-pool-a.node", STALE_MS);
    markUsed(old, now);
    expect(statSync(old).mtimeMs).toBe(now);
    const fresh = file("block-pool-b.node", 3600_000);
    markUsed(fresh, now);
    expect(statSync(fresh).mtimeMs).toBe(now - 3600_000);
  });

  it("a missing folder prunes nothing", () => {
    dir = path.join(tmpdir(), "strand-native-missing-" + process.pid);
    expect(pruneBuilds(dir, "block-pool-", path.join(dir, "x"), now)).toEqual([]);
  });
});
