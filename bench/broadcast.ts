// Moving one big object around the cluster: `cluster.broadcast()` of a 100 MB Float64Array
// to every runner (2, then 4 runners × 1 thread), its runner-to-runner part on its own,
// `put` (driver → one runner) and `get` (runner → driver), against the raw floor measured
// in the same run: the same bytes sent one way over 127.0.0.1 to a plain `net` server in
// another process, acknowledged once they are all in its memory. Reps alternate.
import { local, type Ref } from "../src/index.ts";
import { footer, median, num, progress, quick, ratio, reps, spread, table } from "./common.ts";
import { SinkClient, startSinkServer } from "./raw-echo.ts";

type ArrayFns = typeof import("./fixtures/array.ts");

const REPS = reps(9, 2);
const MB = 1e6;
const BYTES = (quick ? 10 : 100) * MB;
const DOUBLES = BYTES / 8;
const RUNNER_COUNTS = [2, 4] as const;

interface Row {
  name: string;
  /** Bytes that land somewhere per operation (copies × size). */
  bytes: number;
  ms: number[];
}

const rate = (bytes: number, ms: number): number => bytes / MB / (ms / 1000);

async function main(): Promise<void> {
  const data = new Float64Array(DOUBLES);
  for (let i = 0; i < DOUBLES; i++) data[i] = i * 0.5;
  const bytes = new Uint8Array(data.buffer);
  let expectedSum = 0;
  for (let i = 0; i < DOUBLES; i++) expectedSum += data[i]!;

  await using kept = await startSinkServer();
  await using fresh = await startSinkServer({ fresh: true });
  const keptClient = await SinkClient.connect(kept.port);
  const freshClient = await SinkClient.connect(fresh.port);

  const sections: string[] = [];
  const notes: string[] = [];
  for (const runners of RUNNER_COUNTS) {
    await using cluster = await local({ runners, threads: 1 });
    const m = await cluster.import<ArrayFns>(new URL("./fixtures/array.ts", import.meta.url));

    // broadcast() = a put to one runner, then rounds of runner-to-runner pulls. The pulls are
    // the broadcast minus the same rep's put (the put runs just before it): broadcast puts
    // through the object layer, not `cluster.put`, so a wrapper on the latter cannot see it.

    const rawRow: Row = { name: "raw TCP one way, into a kept buffer (floor)", bytes: BYTES, ms: [] };
    const freshRow: Row = { name: "raw TCP one way, into a fresh buffer (reference)", bytes: BYTES, ms: [] };
    const putRow: Row = { name: "`put(x)`: driver → 1 runner", bytes: BYTES, ms: [] };
    const rounds = Math.ceil(Math.log2(runners));
    const pullRow: Row = {
      name: `runner → runner pulls inside \`broadcast\` (${runners - 1} pull${runners > 2 ? `s in ${rounds} rounds` : ""})`,
      bytes: (runners - 1) * BYTES, ms: [],
    };
    const bcRow: Row = { name: `**\`broadcast(x)\`: put + pulls, ${runners} copies**`, bytes: runners * BYTES, ms: [] };
    const getRow: Row = { name: "`get(ref)`: runner → driver", bytes: BYTES, ms: [] };

    const timeIt = async (row: Row | undefined, f: () => Promise<void>): Promise<void> => {
      const t0 = performance.now();
      await f();
      row?.ms.push(performance.now() - t0);
    };
    const raw = (row?: Row): Promise<void> => timeIt(row, () => keptClient.send(bytes));
    const rawFresh = (row?: Row): Promise<void> => timeIt(row, () => freshClient.send(bytes));
    const put = (row?: Row): Promise<void> => timeIt(row, async () => (await cluster.put(data)).release());
    const broadcast = async (timed: boolean): Promise<Ref<Float64Array>> => {
      const t0 = performance.now();
      const ref = await cluster.broadcast(data);
      const t1 = performance.now();
      if (timed) {
        bcRow.ms.push(t1 - t0);
        pullRow.ms.push(Math.max(0, t1 - t0 - putRow.ms.at(-1)!));
      }
      return ref;
    };
    const get = async (ref: Ref<Float64Array>, row?: Row): Promise<void> => {
      let back: Float64Array | undefined;
      await timeIt(row, async () => {
        back = await cluster.get(ref);
      });
      if (back?.length !== DOUBLES || back[DOUBLES - 1] !== data[DOUBLES - 1]) throw new Error("get returned a different array");
    };

    progress(`broadcast, ${runners} runners: warm-up (${BYTES / MB} MB)`);
    await raw();
    await rawFresh();
    await put();
    const s0 = await cluster.runnerStats();
    const warm = await broadcast(false);
    const s1 = await cluster.runnerStats();
    // Every runner holds it, and the value is the same everywhere: sum it on each.
    const sums = await Promise.all(Array.from({ length: 2 * runners }, () => m.sumHere(warm)));
    const pids = new Set(sums.map(([, pid]) => pid));
    if (sums.some(([s]) => s !== expectedSum)) throw new Error("a runner's copy sums differently");
    const fetches = s1.reduce((s, r) => s + r.objectFetches, 0) - s0.reduce((s, r) => s + r.objectFetches, 0);
    const holders = s1.filter((r) => r.objectBytes >= BYTES).length;
    notes.push(`${runners} runners: after a broadcast ${holders} of ${runners} runners held ≥ ${BYTES / MB} MB of objects, ${fetches} runner-to-runner fetch${fetches === 1 ? "" : "es"}; ${2 * runners} \`sumHere(ref)\` calls ran on ${pids.size} runner(s), every sum equal to this process's.`);
    await get(warm);
    warm.release();

    for (let r = 0; r < REPS; r++) {
      await raw(rawRow);
      await rawFresh(freshRow);
      await put(putRow);
      const ref = await broadcast(true);
      await get(ref, getRow);
      ref.release();
      progress(`broadcast, ${runners} runners, rep ${r + 1}/${REPS}: raw ${num(rate(BYTES, rawRow.ms.at(-1)!))} MB/s, put ${num(rate(BYTES, putRow.ms.at(-1)!))} MB/s, `
        + `pulls ${num(pullRow.ms.at(-1)!, 1)} ms, broadcast ${num(bcRow.ms.at(-1)!, 1)} ms, get ${num(rate(BYTES, getRow.ms.at(-1)!))} MB/s`);
    }

    // Every Ref was released: the runners' stores should be empty again.
    const left = await cluster.runnerStats();
    notes.push(`${runners} runners: after the reps (every Ref released), the runners held ${num(left.reduce((s, x) => s + x.objects, 0))} objects, ${num(left.reduce((s, x) => s + x.objectBytes, 0))} bytes.`);

    const rawRate = median(rawRow.ms.map((ms) => rate(BYTES, ms)));
    const freshRate = median(freshRow.ms.map((ms) => rate(BYTES, ms)));
    const rows = [rawRow, freshRow, putRow, pullRow, bcRow, getRow].map((row) => {
      const rates = row.ms.map((ms) => rate(row.bytes, ms));
      return [
        row.name, num(row.bytes / MB), num(median(row.ms), 1), spread(row.ms, 1), num(median(rates)), spread(rates),
        ratio(median(rates) / rawRate), spread(rates.map((x, i) => x / rate(BYTES, rawRow.ms[i]!)), 2), ratio(median(rates) / freshRate),
      ];
    });
    sections.push(`### ${runners} runners × 1 thread\n\n${table(
      ["", "MB landed", "ms (median)", "ms range", "MB/s (median)", "MB/s range", "/ raw", "per-rep / raw", "/ raw fresh"], rows)}\n`);
  }
  keptClient.close();
  freshClient.close();

  console.log(`## Broadcast: a ${BYTES / MB} MB Float64Array to every runner\n`);
  for (const s of sections) console.log(s);
  console.log(footer([
    `Median over ${REPS} reps after a warm-up; each rep runs raw → raw fresh → put → broadcast → get, in one process. MB = 10^6 bytes.`,
    `MB landed: bytes that arrive somewhere per operation (a broadcast to n runners lands n copies); MB/s = MB landed / time, so "/ raw" compares with one raw stream: a broadcast whose every transfer went at raw speed, one after another, would be 1.00x with 2 runners (put, then 1 pull) and 1.33x with 4 (put, then rounds of 1 and 2 pulls).`,
    `Raw: \`u64 length | ${BYTES / MB} MB\` written once to a plain \`net\` server in a child process on 127.0.0.1 that reads it straight into one buffer kept across messages (floor; as a runner reads big frames, src/transport/read-into.ts) or into a new one each time (reference: a stored object is new memory, and its first touch costs page faults), then answers one byte.`,
    `Pulls: \`broadcast\` minus the same rep's \`put\` (run just before it), i.e. the runner-to-runner rounds and their Pull/Done messages with the driver. (Before 2026-12-07 this row timed from the end of the rep's separate put, which included broadcast's own put.)`,
    `Strand: \`local({ runners, threads: 1 })\` on this machine: with 4 runners, 4 processes share 2 CPUs. Objects are released after each rep.`,
    ...notes,
  ]));
  console.log();
}

await main();
