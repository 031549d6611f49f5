import { describe, expect, it } from "vitest";
import { ObjectStore } from "../../src/runner/object-store.ts";

// A runner's object store, on its own: what it keeps for whom.

/** A fetch the test completes when it likes (a transfer from another runner). */
function pendingFetch(): { fetch: () => Promise<Uint8Array[]>; arrive: () => void } {
  let arrive!: (s: Uint8Array[]) => void;
  const p = new Promise<Uint8Array[]>((resolve) => (arrive = resolve));
  return { fetch: () => p, arrive: () => arrive([new Uint8Array(100)]) };
}

describe("object store: copies fetched for an owner", () => {
  it("are kept, owned by the session that asked, and go when it leaves", async () => {
    const store = new ObjectStore(1 << 20);
    const owner = {};
    const { fetch, arrive } = pendingFetch();
    const got = store.obtain("d.1", owner, fetch);
    arrive();
    expect((await got).bytes).toBe(100);
    expect(store.get("d.1")?.owner).toBe(owner);
    store.freeOwnedBy(owner);
    expect(store.size).toBe(0);
    expect(store.used).toBe(0);
  });

  // Regression: a copy arriving after its owner had left was stored all the same, owned by
  // a session that would never free it (seen on a loaded machine: a runner kept an object
  // of a driver lost during a link cut, for good).
  it("arriving after their owner left are handed to the waiting reader but not kept", async () => {
    const store = new ObjectStore(1 << 20);
    const owner = {};
    const { fetch, arrive } = pendingFetch();
    const got = store.obtain("d.1", owner, fetch);
    store.freeOwnedBy(owner);
    arrive();
    expect((await got).segments[0]).toHaveLength(100);
    expect(store.get("d.1")).toBeUndefined();
    expect(store.used).toBe(0);
    expect(store.fetches).toBe(1); // still a transfer, in the runner's stats
    // Another owner asking later fetches it again, and keeps it.
    const other = {};
    const again = pendingFetch();
    const kept = store.obtain("d.1", other, again.fetch);
    again.arrive();
    expect((await kept).owner).toBe(other);
    expect(store.get("d.1")?.owner).toBe(other);
  });
});
