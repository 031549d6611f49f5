// Sample sort as an SPMD job: sort locally, agree on splitters from everyone's samples
// (allgather), send every other rank its bucket (alltoall), sort what arrived. Rank i ends
// up with the i-th slice of the globally sorted keys.
import { comm } from "../../src/runtime.ts";
import { bucketsOf, concat, keysOf, samplesOf, seedOf, share, splittersOf } from "./kernel.ts";

/** Returns this rank's slice of all ranks' keys, sorted; the slices in rank order are the whole sorted array. */
export async function sampleSort(n: number, samplesPerRank: number): Promise<Float64Array> {
  const c = comm();
  const keys = keysOf(share(n, c.size, c.rank), seedOf(c.rank)).sort();
  // Every rank gets the same samples, so all compute the same splitters without another round.
  const samples = await c.allgather(samplesOf(keys, samplesPerRank));
  const buckets = bucketsOf(keys, splittersOf(samples, c.size));
  const received = await c.alltoall(buckets);
  return concat(received).sort();
}
