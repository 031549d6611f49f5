// Spilling: a runner's object store over its budget writes its least recently used objects
// to disk in batches and reads them back on demand. Two measures, each beside its floor in
// the same run:
//
// 1. The store's own disk traffic (an ObjectStore with its SpillDir, in this process):
//    3x the budget put through it (spill writes), then every object read back (restores),
//    against a raw `fs` write of the same bytes in files of the same size and raw
//    positioned reads of each object into a fresh buffer.
// 2. A job as a user runs it: `local()` with a budget, 3x that in objects put and read
//    back with `cluster.get`, against the same job on a runner whose budget holds it all.
//
// Both read from the page cache (just written), raw and spill alike.
import { mkdtempSync, promises as fsp, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { local, type Ref } from "../src/index.ts";
import { ObjectStore } from "../src/runner/object-store.ts";
import { SPILL_BATCH, SpillDir } from "../src/runner/spill.ts";
import { footer, median, num, progress, quick, ratio, reps, spread, table } from "./common.ts";

const MiB = 1024 * 1024;
const MB = 1e6;
const REPS = reps(3, 1);
const BUDGET = (quick ? 64 : 256) * MiB;
const OBJECT = 8 * MiB;
const COUNT = (3 * BUDGET) / OBJECT;

const root = mkdtempSync(path.join(os.tmpdir(), "strand-bench-spill-"));
const values = Array.from({ length: COUNT }, (_, i) => new Uint8Array(OBJECT).fill(i & 0xff));

/** MB/s of `bytes` in `ms`. */
const rate = (bytes: number, ms: number): number => bytes / MB / (ms / 1000);

async function timed(f: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

/** Raw floor: the same bytes written in files of a spill batch's size (one writev each), then each object read back with one positioned read. */
async function raw(): Promise<{ writeMs: number; readMs: number; bytes: number }> {
  const dir = await fsp.mkdtemp(path.join(root, "raw-"));
  const perFile = Math.max(1, Math.floor(Math.min(SPILL_BATCH, BUDGET / 4) / OBJECT));
  const places: { file: string; offset: number }[] = [];
  const writeMs = await timed(async () => {
    for (let i = 0; i < COUNT; i += perFile) {
      const file = path.join(dir, `${i}.raw`);
      const group = values.slice(i, i + perFile);
      group.forEach((_, j) => places.push({ file, offset: j * OBJECT }));
      const h = await fsp.open(file, "w");
      await h.writev(group, 0);
      await h.close();
    }
  });
  // The spill writes only what exceeds the budget: the floor reads the same count back.
  const spilled = places.slice(0, COUNT - BUDGET / OBJECT);
  const readMs = await timed(async () => {
    for (const p of spilled) {
      const buf = new Uint8Array(new SharedArrayBuffer(OBJECT));
      const h = await fsp.open(p.file, "r");
      await h.read(buf, 0, OBJECT, p.offset);
      await h.close();
      if (buf[OBJECT - 1] === undefined) throw new Error("short read");
    }
  });
  await fsp.rm(dir, { recursive: true, force: true });
  return { writeMs, readMs, bytes: spilled.length * OBJECT };
}

/** The store: 3x the budget put (the puts wait for the spills that make room), then the spilled ones read back. */
async function store(): Promise<{ writeMs: number; readMs: number; written: number; restored: number; batches: number }> {
  const dir = new SpillDir(await fsp.mkdtemp(path.join(root, "store-")));
  const s = new ObjectStore(BUDGET, dir);
  const owner = {};
  const putAll = async (): Promise<void> => {
    for (let i = 0; i < COUNT; i++) await s.put(`o.${i}`, [values[i]!], owner);
  };
  const allMs = await timed(putAll);
  const spilledBytes = s.bytesSpilled;
  // The newest objects (those in memory) freed: the restores then measure reading back, not
  // also the writes that evicting objects never spilled would take.
  for (let i = COUNT - BUDGET / OBJECT; i < COUNT; i++) s.free(`o.${i}`);
  const readMs = await timed(async () => {
    for (let i = 0; i < COUNT - BUDGET / OBJECT; i++) {
      const o = await s.read(`o.${i}`)!;
      if (o.segments[0]![OBJECT - 1] !== (i & 0xff)) throw new Error("restored different bytes");
    }
  });
  const r = { writeMs: allMs, readMs, written: spilledBytes, restored: s.bytesRestored, batches: s.spillBatches };
  s.close();
  return r;
}

async function job(budgetMiB: number): Promise<{ putMs: number; getMs: number; spilled: number }> {
  await using cluster = await local({ runners: 1, threads: 1, objectMemoryMiB: budgetMiB, spillDir: root });
  const doubles = OBJECT / 8;
  const data = Array.from({ length: COUNT }, (_, i) => new Float64Array(doubles).fill(i));
  const refs: Ref<Float64Array>[] = [];
  const putMs = await timed(async () => {
    for (const d of data) refs.push(await cluster.put(d));
  });
  const getMs = await timed(async () => {
    for (let i = 0; i < COUNT; i++) {
      const v = await cluster.get(refs[i]!);
      if (v[doubles - 1] !== i) throw new Error("got a different value back");
    }
  });
  const [stats] = await cluster.runnerStats();
  return { putMs, getMs, spilled: stats!.spills ?? 0 };
}

async function main(): Promise<void> {
  const rawW: number[] = [], rawR: number[] = [], stW: number[] = [], stR: number[] = [];
  let last = { written: 0, restored: 0, batches: 0 };
  const spillBytes = (COUNT - BUDGET / OBJECT) * OBJECT;
  progress(`spill: store, ${COUNT} objects of ${OBJECT / MiB} MiB through a ${BUDGET / MiB} MiB budget`);
  for (let r = 0; r < REPS; r++) {
    const a = await raw();
    const b = await store();
    rawW.push(a.writeMs);
    rawR.push(a.readMs);
    stW.push(b.writeMs);
    stR.push(b.readMs);
    last = b;
    progress(`spill rep ${r + 1}/${REPS}: raw write ${num(rate(COUNT * OBJECT, a.writeMs))} MB/s, spill ${num(rate(b.written, b.writeMs))} MB/s; raw read ${num(rate(a.bytes, a.readMs))} MB/s, restore ${num(rate(b.restored, b.readMs))} MB/s`);
  }
  const jobs: { spill: Awaited<ReturnType<typeof job>>; fits: Awaited<ReturnType<typeof job>> }[] = [];
  for (let r = 0; r < REPS; r++) {
    progress(`spill: job rep ${r + 1}/${REPS}`);
    jobs.push({ spill: await job(BUDGET / MiB), fits: await job((4 * BUDGET) / MiB) });
  }
  rmSync(root, { recursive: true, force: true });

  // Raw writes all 3x the budget (every object to disk); the store writes 2x (what is over the budget) in the same time budget.
  const rawWrite = median(rawW.map((ms) => rate(COUNT * OBJECT, ms)));
  const spillWrite = median(stW.map((ms) => rate(last.written, ms)));
  const rawRead = median(rawR.map((ms) => rate(spillBytes, ms)));
  const restore = median(stR.map((ms) => rate(last.restored, ms)));
  console.log(`## Spilling: ${COUNT} objects of ${OBJECT / MiB} MiB through a ${BUDGET / MiB} MiB object store (3x its budget)\n`);
  console.log(table(
    ["", "MB/s (median)", "MB/s range", "/ raw"],
    [
      ["raw `fs` write, files of one batch (floor)", num(rawWrite), spread(rawW.map((ms) => rate(COUNT * OBJECT, ms))), ratio(1)],
      ["**store: puts over the budget, spilled in batches**", num(spillWrite), spread(stW.map((ms) => rate(last.written, ms))), ratio(spillWrite / rawWrite)],
      ["raw `fs` positioned read per object (floor)", num(rawRead), spread(rawR.map((ms) => rate(spillBytes, ms))), ratio(1)],
      ["**store: spilled objects read back**", num(restore), spread(stR.map((ms) => rate(last.restored, ms))), ratio(restore / rawRead)],
    ],
  ));
  console.log();
  const total = COUNT * OBJECT;
  const jr = (k: "putMs" | "getMs", w: "spill" | "fits"): number => median(jobs.map((j) => rate(total, j[w][k])));
  console.log(table(
    ["`local()` job, 1 runner", "put MB/s", "get MB/s", "objects spilled", "put / in memory", "get / in memory"],
    [
      [`budget ${(4 * BUDGET) / MiB} MiB: all in memory (reference)`, num(jr("putMs", "fits")), num(jr("getMs", "fits")), num(jobs[0]!.fits.spilled), ratio(1), ratio(1)],
      [`**budget ${BUDGET / MiB} MiB: 3x over, spilling**`, num(jr("putMs", "spill")), num(jr("getMs", "spill")), num(jobs[0]!.spill.spilled),
        ratio(jr("putMs", "spill") / jr("putMs", "fits")), ratio(jr("getMs", "spill") / jr("getMs", "fits"))],
    ],
  ));
  console.log();
  console.log(footer([
    `Median over ${REPS} reps; MB = 10^6 bytes. Store: ${num(last.written / MB)} MB written in ${last.batches} batch files (batch: ${num(Math.min(SPILL_BATCH, BUDGET / 4) / MiB)} MiB = min(64 MiB, budget / 4)), ${num(last.restored / MB)} MB read back. The store's write rate counts the bytes spilled over the whole put loop (puts that fit included); raw writes all ${num(total / MB)} MB in files of a batch's size. Before the restores, the objects still in memory are freed, so that reading back evicts only objects already on disk (no writes).`,
    `Raw: \`fs.promises\` writev per file, no fsync (the spill does not fsync either); reads: one positioned read per object into a fresh SharedArrayBuffer, as a restore does. Reads hit the page cache on both sides.`,
    `Job: \`local({ runners: 1, threads: 1, objectMemoryMiB })\`, ${COUNT} \`cluster.put\` of ${OBJECT / MiB} MiB Float64Arrays in sequence, then a \`cluster.get\` of each in put order (the oldest, spilled first, are read back first).`,
  ]));
  console.log();
}

await main();
