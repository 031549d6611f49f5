// The codec choice: our msgpackr codec (src/protocol/codec.ts: encodeValue, which
// validates then packs, and decodeValue) against node:v8 serialize/deserialize, on
// values of the shapes calls carry. ops/s = encode + decode round trips per second.
// In one process; for each case the codecs alternate within every rep.
import { isDeepStrictEqual } from "node:util";
import v8 from "node:v8";
import { decodeValue, encodeTrusted, encodeValue, type Encoded } from "../src/protocol/codec.ts";
import { footer, median, num, progress, quick, ratio, reps, spread, table } from "./common.ts";

const REPS = reps(5, 2);
const SLICES = 10;
const BUDGET_MS = quick ? 5 : 25; // per slice

function nested(): unknown {
  const users = Array.from({ length: 40 }, (_, i) => ({
    id: i,
    name: `user ${i}`,
    email: `user${i}@example.com`,
    active: i % 3 !== 0,
    tags: ["admin", "beta", "eu"].slice(0, (i % 3) + 1),
    address: { street: `${i} Main St`, city: "Springfield", zip: String(10000 + i) },
    scores: [i * 1.5, i * 2.25, i / 7],
  }));
  return { page: 1, total: 40, users, meta: { generated: "2024-01-01T00:00:00Z", source: "bench" } };
}

const cases: { name: string; value: unknown }[] = [
  { name: "small object", value: { id: 1, name: "x", tags: ["a", "b"], n: 3.5 } },
  { name: "args [1, 2]", value: [1, 2] },
  { name: "1 MB Float64Array", value: Float64Array.from({ length: (1024 * 1024) / 8 }, (_, i) => i * 0.25) },
  { name: "Map, 1000 entries", value: new Map(Array.from({ length: 1000 }, (_, i) => [`key${i}`, i * 2])) },
  { name: "nested object ~10 KB", value: nested() },
];

interface Codec {
  name: string;
  roundTrip: (v: unknown) => unknown;
}

const encodedBytes = (e: Encoded): number => e.body.byteLength + e.attachments.reduce((s, a) => s + a.byteLength, 0);

const codecs: Codec[] = [
  { name: "msgpackr (encodeValue)", roundTrip: (v) => { const e = encodeValue(v, "v"); return decodeValue(e.body, e.attachments); } },
  { name: "v8", roundTrip: (v) => v8.deserialize(v8.serialize(v)) },
  { name: "msgpackr, no validation (encodeTrusted)", roundTrip: (v) => { const e = encodeTrusted(v); return decodeValue(e.body, e.attachments); } },
];

let sink = 0;

/** Round trips per second over about BUDGET_MS. */
function opsPerSec(f: (v: unknown) => unknown, value: unknown): number {
  let n = 0;
  let batch = 1;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < BUDGET_MS) {
    for (let i = 0; i < batch; i++) if (f(value) !== null) sink++;
    n += batch;
    elapsed = performance.now() - t0;
    if (elapsed < BUDGET_MS / 8) batch *= 2;
  }
  return (n / elapsed) * 1000;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v !== "object") return `${typeof v} ${String(v)}`;
  return (v as object).constructor?.name ?? "null-prototype object";
}

/** What each codec gives back for values whose type might not survive. */
function fidelity(): string[] {
  const cyclic: { self?: unknown } = {};
  cyclic.self = cyclic;
  const probes: { name: string; value: unknown; show?: (v: unknown) => string }[] = [
    { name: "Buffer (5 B)", value: Buffer.from("hello") },
    { name: "Buffer (64 KB)", value: Buffer.alloc(64 * 1024, 1) },
    { name: "Uint8Array (5 B)", value: new Uint8Array(5) },
    { name: "Float32Array", value: new Float32Array(4) },
    { name: "TypeError with cause", value: new TypeError("boom", { cause: new RangeError("inner") }),
      show: (v) => (v instanceof Error ? `${v.constructor.name}, cause ${describe(v.cause)}` : describe(v)) },
    { name: "BigInt 2^70", value: 2n ** 70n, show: (v) => `${typeof v}` },
    { name: "cyclic object", value: cyclic, show: (v) => ((v as { self?: unknown }).self === v ? "cycle kept" : "cycle lost") },
  ];
  const rows = probes.map((p) => {
    const cells = codecs.slice(0, 2).map((c) => {
      try {
        return (p.show ?? describe)(c.roundTrip(p.value));
      } catch (err) {
        return `throws (${err instanceof Error ? err.message.slice(0, 40) : String(err)})`;
      }
    });
    return [p.name, ...cells];
  });
  return ["", "Type fidelity (what decode returns):", "", table(["value", "msgpackr codec", "v8"], rows)];
}

function main(): void {
  for (const c of cases) {
    for (const codec of codecs) {
      if (!isDeepStrictEqual(codec.roundTrip(c.value), c.value)) throw new Error(`${codec.name} does not round-trip the ${c.name}`);
    }
  }
  const results = cases.map(() => codecs.map(() => [] as number[]));
  progress(`codec: warm-up`);
  for (const c of cases) for (const codec of codecs) opsPerSec(codec.roundTrip, c.value);
  // A rep measures each codec in SLICES short slices, codecs interleaved, and keeps the
  // median slice: a slice in which this process lost its CPU does not move the result.
  for (let r = 0; r < REPS; r++) {
    cases.forEach((c, i) => {
      const slices = codecs.map(() => [] as number[]);
      for (let s = 0; s < SLICES; s++) {
        // Rotate the order: whichever codec runs right after v8 pays for the GC of its Buffers.
        for (let k = 0; k < codecs.length; k++) {
          const j = (k + s) % codecs.length;
          slices[j]!.push(opsPerSec(codecs[j]!.roundTrip, c.value));
        }
      }
      slices.forEach((xs, j) => results[i]![j]!.push(median(xs)));
    });
    progress(`codec rep ${r + 1}/${REPS}`);
  }
  const med = (i: number, j: number): number => median(results[i]![j]!);
  console.log(`## Codec: msgpackr (ours) vs node:v8, encode + decode\n`);
  console.log(table(
    ["value", "msgpackr bytes", "v8 bytes", "msgpackr ops/s", "v8 ops/s", "msgpackr / v8", "per-rep ratio", "msgpackr w/o validation ops/s"],
    cases.map((c, i) => [
      c.name,
      num(encodedBytes(encodeValue(c.value, "v"))),
      num(v8.serialize(c.value).byteLength),
      num(med(i, 0)),
      num(med(i, 1)),
      ratio(med(i, 0) / med(i, 1)),
      spread(results[i]![0]!.map((x, r) => x / results[i]![1]![r]!), 2),
      num(med(i, 2)),
    ]),
  ));
  console.log(fidelity().join("\n"));
  console.log();
  console.log(footer([
    `Median over ${REPS} reps; a rep runs each codec ${SLICES} times for ~${BUDGET_MS} ms on each value, codecs interleaved in rotating order, and keeps the median slice. One op = encode + decode of the whole value. Every codec is first checked to round-trip each value (isDeepStrictEqual).`,
    `msgpackr bytes include attachments: binary values of ≥ 16 KB are left out of the msgpack body and sent beside it with writev, so for the 1 MB Float64Array our encode + decode copies nothing (decode views the same bytes); v8 copies them into its buffer and out again.`,
    `"msgpackr" is what a call pays: \`encodeValue\` walks the value first (assertSerializable) to reject functions and class instances; the last column leaves that walk out.`,
    `Buffer: our codec gives back a Buffer; v8.deserialize gives back ${describe(v8.deserialize(v8.serialize(Buffer.from("x"))))} for a Buffer (see the fidelity table).`,
  ]));
  console.log();
  if (sink < 0) console.log(sink);
}

main();
