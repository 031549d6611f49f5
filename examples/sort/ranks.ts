// Sample sort as an SPMD job: sort locally, agree on splitters from everyone's samples
// (allgather), send every other rank its bucket (alltoall), merge what arrived. Rank i ends
// up with the i-th slice of the globally sorted keys.
import { comm } from "../../src/runtime.ts";
import { bucketsOf, digestOf, fillKeys, mergeIntoOwn, mergeSorted, samplesOf, seedOf, share, splittersOf, type SliceDigest } from "./kernel.ts";

/** A rank's key memory over its share: the slice it receives back may be this much larger and still be merged in place. */
const SPARE = 1.1;

/** Returns this rank's slice of all ranks' keys, sorted; the slices in rank order are the whole sorted array. */
export async function sampleSort(n: number, samplesPerRank: number): Promise<Float64Array> {
  const c = comm();
  const count = share(n, c.size, c.rank);
  // Room for the slice this rank ends up with, which is its share give or take the splitters'
  // error (~1.5% at 2 ranks, 64 samples a rank): memory past what is written is never touched.
  const buf = new Float64Array(Math.ceil(count * SPARE) + 64);
  const keys = fillKeys(buf.subarray(0, count), seedOf(c.rank)).sort();
  // Every rank gets the same samples, so all compute the same splitters without another round.
  const samples = await c.allgather(samplesOf(keys, samplesPerRank));
  const buckets = bucketsOf(keys, splittersOf(samples, c.size));
  // Every bucket arrives sorted (a cut of a sorted array): merging them sorts what arrived.
  const received = await c.alltoall(buckets);
  if (c.size === 2) {
    const merged = mergeIntoOwn(buf, received[c.rank]!, received[1 - c.rank]!);
    if (merged !== undefined) return merged;
  }
  return mergeSorted(received);
}

/**
 * sampleSort with the slice left on its rank, as a distributed sort leaves its output where
 * it was sorted (a file per node): returns what the driver checks it by, its length and
 * SHA-256, instead of its keys. The single process's clock, likewise, stops before its
 * sorted keys are handed back.
 */
export async function sampleSortInPlace(n: number, samplesPerRank: number): Promise<SliceDigest> {
  return digestOf(await sampleSort(n, samplesPerRank));
}
