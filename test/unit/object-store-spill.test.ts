import { existsSync, readdirSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ObjectStoreFullError } from "../../src/errors.ts";
import { ObjectStore, type StoredObject } from "../../src/runner/object-store.ts";
import { SpillDir } from "../../src/runner/spill.ts";
import { removeDir, tempDir } from "../helpers.ts";

// The object store over its budget, on its own, with a real spill directory: what it writes,
// reads back, keeps in memory and deletes, whatever order puts, reads and frees come in.

const KB = 1000;
const value = (n: number, fill: number): Uint8Array[] => [new Uint8Array(100).fill(fill), new Uint8Array(n).fill(fill)];
const filled = (o: StoredObject, fill: number): boolean => o.segments.every((s) => s.every((b) => b === fill));

let root: string;
let dir: SpillDir;
beforeEach(async () => {
  root = await tempDir("strand-store-spill-");
  dir = new SpillDir(root);
});
afterEach(async () => {
  await removeDir(root);
});

describe("object store: spilling", () => {
  it("spills the least recently used over the budget, in batches, and reads them back with their segments", async () => {
    const store = new ObjectStore(1000 * KB, dir);
    const owner = {};
    for (let i = 0; i < 10; i++) await store.put(`d.${i}`, value(200 * KB, i), owner);
    expect(store.used).toBeLessThanOrEqual(1000 * KB);
    expect(store.onDisk).toBeGreaterThanOrEqual(5);
    expect(store.spillBatches).toBeLessThan(store.spills); // several objects per file
    // d.0 is the oldest: spilled. Reading d.9 (in memory) makes it the newest; d.0 comes back.
    expect(store.get("d.0")).toMatchObject({ bytes: 200 * KB + 100, owner });
    const back = await store.read("d.0")!;
    expect(back.segments.map((s) => s.byteLength)).toEqual([100, 200 * KB]);
    expect(filled(back, 0)).toBe(true);
    for (let i = 0; i < 10; i++) expect(filled(await store.read(`d.${i}`)!, i)).toBe(true);
    expect(store.used).toBeLessThanOrEqual(1000 * KB);
    store.close();
    expect(existsSync(dir.dir)).toBe(false);
  });

  it("concurrent readers of a spilled object share one read; freed objects leave no files", async () => {
    const store = new ObjectStore(1000 * KB, dir);
    const owner = {};
    for (let i = 0; i < 8; i++) await store.put(`d.${i}`, value(200 * KB, i), owner);
    const restores = store.restores;
    const [a, b] = await Promise.all([store.read("d.0")!, store.read("d.0")!]);
    expect(store.restores).toBe(restores + 1);
    expect(a.segments[1]).toBe(b.segments[1]);
    for (let i = 0; i < 8; i++) store.free(`d.${i}`);
    expect([store.size, store.used, store.onDisk, store.bytesOnDisk]).toEqual([0, 0, 0, 0]);
    await dir.removed(); // unlinks run in the background
    expect(readdirSync(dir.dir)).toEqual([]);
    expect(dir.bytesOnDisk).toBe(0);
  });

  it("an object freed while its batch is written, or while it is read back, leaves nothing behind", async () => {
    const store = new ObjectStore(1000 * KB, dir);
    const owner = {};
    for (let i = 0; i < 4; i++) await store.put(`d.${i}`, value(240 * KB, i), owner);
    const waiting = store.put("d.4", value(240 * KB, 4), owner); // d.0 goes to disk first
    expect(waiting).toBeInstanceOf(Promise);
    store.free("d.0"); // mid-write
    await waiting;
    expect(store.get("d.0")).toBeUndefined();
    await store.put("d.5", value(240 * KB, 5), owner);
    const reading = store.read("d.1"); // spilled by now: read back
    expect(reading).toBeInstanceOf(Promise);
    store.free("d.1");
    await Promise.resolve(reading).catch(() => undefined); // a reader of a freed object may or may not get it
    expect(store.get("d.1")).toBeUndefined();
    for (const id of ["d.2", "d.3", "d.4", "d.5"]) store.free(id);
    expect([store.size, store.used, store.onDisk]).toEqual([0, 0, 0]);
  });

  it("keeps pinned objects in memory; with only pinned ones left, the waiter goes over the budget instead of waiting for ever", async () => {
    const store = new ObjectStore(1000 * KB, dir);
    const owner = {};
    await store.put("a", value(450 * KB, 1), owner);
    await store.put("b", value(450 * KB, 2), owner);
    store.pin(["a", "b"]);
    await store.put("c", value(450 * KB, 3), owner);
    expect(store.onDisk).toBe(0);
    expect(store.used).toBeGreaterThan(1000 * KB);
    store.unpin(["a", "b"]);
    // Unpinned, they can go: the store spills back under its budget by itself, no put needed.
    for (let i = 0; i < 10_000 && store.used > 1000 * KB; i++) await new Promise(setImmediate);
    expect(store.used).toBeLessThanOrEqual(1000 * KB);
    expect(store.onDisk).toBeGreaterThan(0);
    await store.put("d", value(450 * KB, 4), owner);
    expect(store.onDisk).toBeGreaterThan(0);
    expect(store.used).toBeLessThanOrEqual(1000 * KB);
  });

  it("refuses an object bigger than the whole budget, and what waits when a spill cannot be written", async () => {
    const store = new ObjectStore(1000 * KB, dir);
    const owner = {};
    expect(() => store.put("big", value(2000 * KB, 1), owner)).toThrow(ObjectStoreFullError);
    expect(() => store.put("big", value(2000 * KB, 1), owner)).toThrow(/bigger than the whole budget/);

    const broken = new ObjectStore(1000 * KB, new SpillDir("/dev/null/spill"));
    await broken.put("a", value(600 * KB, 1), owner);
    const err = await Promise.resolve(broken.put("b", value(600 * KB, 2), owner)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectStoreFullError);
    expect((err as Error).message).toMatch(/spilling to \/dev\/null\/spill\/.* failed/);
    expect(broken.refused).toBe(1);
    expect(filled(await broken.read("a")!, 1)).toBe(true); // kept in memory
    broken.free("a");
    expect(broken.put("c", value(600 * KB, 3), owner)).not.toBeInstanceOf(Promise);
  });

  it("without a spill directory, over the budget is refused at once", () => {
    const store = new ObjectStore(1000 * KB);
    expect(store.put("a", value(600 * KB, 1), {})).not.toBeInstanceOf(Promise);
    expect(() => store.put("b", value(600 * KB, 2), {})).toThrow(ObjectStoreFullError);
  });
});
