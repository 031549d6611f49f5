// Monte Carlo pi as an SPMD job: every rank counts its hits, rank 0 gets the sum (MPI_Reduce).
import { comm } from "../../src/runtime.ts";
import { countHits, seedOf, share } from "./kernel.ts";

export interface PiRank {
  /** This rank's own hits. */
  hits: number;
  /** Every rank's hits summed: on rank 0 only. */
  total: number | undefined;
}

export async function estimate(n: number): Promise<PiRank> {
  const c = comm();
  const hits = countHits(share(n, c.size, c.rank), seedOf(c.rank));
  const total = await c.reduce(hits, "sum", 0);
  return { hits, total };
}
