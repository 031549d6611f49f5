import { afterAll, afterEach, beforeAll } from "vitest";
import { Hosts } from "./hosts.ts";

/** A describe block's title, saying why it is skipped where the hosts cannot be made. */
export function titled(title: string, unavailable: string | undefined): string {
  return unavailable === undefined ? title : `${title} (skipped: ${unavailable})`;
}

/**
 * Hosts for the describe block this is called in: started before its tests (handed to
 * `set`), every fault undone after each test, removed after the last.
 */
export function hostsForSuite(set: (hosts: Hosts) => void, count = 3): void {
  let hosts: Hosts | undefined;
  // Starting (or restarting) runner processes in namespaces on a loaded 2-core machine can take
  // longer than vitest's hook default; a start cut short would leave its namespaces behind.
  beforeAll(async () => {
    set((hosts = await Hosts.start({ hosts: count })));
  }, HOSTS_HOOK_MS);
  afterEach(() => hosts?.heal(), HOSTS_HOOK_MS);
  afterAll(() => hosts?.close(), HOSTS_HOOK_MS);
}

/** How long starting, healing or removing the hosts may take. */
export const HOSTS_HOOK_MS = 120_000;

/** How long one cell may take on a loaded machine (each of its waits is bounded by HANG_MS). */
export const CELL_MS = 120_000;
