import type { Encoded } from "../../protocol/codec.ts";

/**
 * A runner as the objects see it: where copies live and how to move them. The runner link
 * implements it; the object table, its entries and the object operations know nothing
 * more of a runner, so they can be tested with a fake one and never reach the wire.
 */
export interface ObjectHolder {
  readonly address: string;
  /** Connected: its copies can be read. */
  readonly alive: boolean;
  /** Connected and not stopping: may be given new objects. */
  readonly usable: boolean;
  /** Bytes of this driver's live `put` objects stored there (placement of the next put). */
  putBytes: number;
  /** Stores a value there under `objectId`; resolves with its size. */
  put(objectId: string, value: Encoded): Promise<number>;
  /** Has it fetch an object from the runner at `from` and keep it. */
  pull(objectId: string, from: string): Promise<number>;
  /** The decoded value of an object held there. */
  fetch(objectId: string): Promise<unknown>;
  /** Drops its copies of these objects. */
  free(objectIds: string[]): void;
}
