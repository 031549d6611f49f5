import { local, type Cluster } from "../src/index.ts";

export const fixture = (name: string): URL => new URL(`./fixtures/${name}`, import.meta.url);

/** A local cluster for one test file: `await using c = await testCluster()`. */
export function testCluster(runners = 2, threads = 1): Promise<Cluster> {
  return local({ runners, threads });
}
