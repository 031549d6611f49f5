import { comm } from "../../src/runtime.ts";
export async function main(n: number) {
  const c = comm();
  const local = new Float64Array(n).fill(c.rank);
  const sum = await c.allreduce(local, "sum");
  if (c.rank === 0) return sum[0];
}
