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
  beforeAll(async () => {
    set((hosts = await Hosts.start({ hosts: count })));
  });
  afterEach(() => hosts?.heal());
  afterAll(() => hosts?.close());
}
