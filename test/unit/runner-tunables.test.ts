import { describe, expect, it } from "vitest";
import { RUNNER_TUNABLES, runnerTunables } from "../../src/driver/local.ts";

// The glibc malloc settings local runners start with (driver/local.ts): each one the user
// set is theirs; the others are added.

describe("runner tunables", () => {
  it("sets every one when the user set none", () => {
    const all = RUNNER_TUNABLES.map(([k, v]) => `${k}=${v}`).join(":");
    expect(runnerTunables(undefined)).toBe(all);
    expect(runnerTunables("")).toBe(all);
    expect(all).toContain("glibc.malloc.hugetlb=1");
    // Freed big buffers reused, not mapped afresh (first-touch faults on every big value).
    expect(all).toContain("glibc.malloc.mmap_max=0");
  });

  it("keeps the user's settings, theirs first, and adds only the missing ones", () => {
    const t = runnerTunables("glibc.malloc.hugetlb=0:glibc.malloc.arena_max=4:glibc.rtld.optional_static_tls=2048");
    const parts = t.split(":");
    expect(parts.slice(0, 3)).toEqual(["glibc.malloc.hugetlb=0", "glibc.malloc.arena_max=4", "glibc.rtld.optional_static_tls=2048"]);
    expect(parts.filter((p) => p.startsWith("glibc.malloc.hugetlb="))).toEqual(["glibc.malloc.hugetlb=0"]);
    expect(parts.filter((p) => p.startsWith("glibc.malloc.arena_max="))).toEqual(["glibc.malloc.arena_max=4"]);
    expect(parts).toContain("glibc.malloc.mmap_max=0");
    expect(parts.some((p) => p.startsWith("glibc.malloc.trim_threshold="))).toBe(true);
  });
});
