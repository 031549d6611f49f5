import { afterAll, beforeAll } from "vitest";
import { local, type Cluster, type LocalOptions, type Remote } from "../src/index.ts";
import { fixture } from "./helpers.ts";

// The one way test files share a cluster (kept apart from helpers.ts, which scripts outside
// vitest import too).

/** Registers something to undo once the tests are done (after the cluster has closed). */
export type Defer = (cleanup: () => unknown) => void;

/** A shared cluster and the fixture modules imported on it, by the names the test gave them. */
export type Shared<Modules> = { readonly cluster: Cluster } & { readonly [K in keyof Modules]: Remote<Modules[K]> };

/**
 * The cluster the tests of the enclosing `describe` (or file) share: started in beforeAll,
 * each of `modules` (fixture file names, by the names tests use) imported on it, and
 * everything closed in afterAll, even when the start failed half way. `start` is local()'s
 * options, or a function that makes the cluster and registers, with `defer`, whatever else
 * it started (in-process runners, folders): those are undone after the cluster closes, last
 * first. The properties of what it returns exist once beforeAll has run: read them in tests.
 *
 *   const t = useCluster<{ m: Math }>({ runners: 2, threads: 1 }, { m: "math.ts" });
 *   it("adds", async () => expect(await t.m.add(1, 2)).toBe(3));
 */
export function useCluster<Modules extends object = Record<never, never>>(
  start: LocalOptions | ((defer: Defer) => Promise<Cluster>),
  modules = {} as { readonly [K in keyof Modules]: string },
): Shared<Modules> {
  const values = new Map<string, unknown>();
  const cleanups: (() => unknown)[] = [];
  const shared = {} as Shared<Modules>;
  for (const name of ["cluster", ...Object.keys(modules)]) {
    Object.defineProperty(shared, name, {
      enumerable: true,
      get: () => {
        if (!values.has(name)) throw new Error(`useCluster: "${name}" exists once beforeAll has run (read it inside a test or hook)`);
        return values.get(name);
      },
    });
  }
  beforeAll(async () => {
    const cluster = typeof start === "function" ? await start((cleanup) => cleanups.push(cleanup)) : await local(start);
    cleanups.push(() => cluster.close());
    values.set("cluster", cluster);
    const names = Object.keys(modules) as (keyof Modules & string)[];
    const remotes = await Promise.all(names.map((n) => cluster.import(fixture(modules[n]))));
    names.forEach((n, i) => values.set(n, remotes[i]));
  });
  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return shared;
}
