// Monte Carlo pi as an SPMD job: every rank counts its hits, rank 0 gets the sum (MPI_Reduce).
import { comm } from "../../src/runtime.ts";
import { countHits, seedOf, share } from "./kernel.ts";
import { countHits as countHitsWasm } from "./kernel-wasm.ts";

/** The kernel a job runs: kernel.ts in JS, or kernel-wasm.ts (pi.c in Wasm); both count the same hits. */
export type PiKernel = "js" | "wasm";

export interface PiRank {
  /** This rank's own hits. */
  hits: number;
  /** Every rank's hits summed: on rank 0 only. */
  total: number | undefined;
}

export async function estimate(n: number, kernel: PiKernel = "js"): Promise<PiRank> {
  const c = comm();
  const samples = share(n, c.size, c.rank);
  const hits = kernel === "wasm" ? await countHitsWasm(samples, seedOf(c.rank)) : countHits(samples, seedOf(c.rank));
  const total = await c.reduce(hits, "sum", 0);
  return { hits, total };
}
