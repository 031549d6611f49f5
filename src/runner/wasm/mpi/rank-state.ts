import { COMM_SELF, COMM_WORLD, FIRST_COMM, FIRST_GROUP, FIRST_OP, FIRST_REQUEST, GROUP_EMPTY } from "./abi.ts";
import { Datatypes, type Datatype } from "./datatypes.ts";
import { Handles } from "./handles.ts";
import type { OpInfo } from "./ops.ts";
import type { WasmSide } from "./side.ts";

// What one rank's MPI keeps on its Wasm thread: the handle tables the C program's integers
// name, and whether MPI is initialized. The rank thread keeps the live objects (communicators,
// pending requests) under the same handles (executor.ts).

/** A communicator as the Wasm thread knows it: enough to check ranks and sizes. */
export interface CommInfo {
  readonly rank: number;
  readonly size: number;
  /** Its ranks as ranks of MPI_COMM_WORLD, in its order (MPI_Comm_group). */
  readonly members: readonly number[];
}

/** A pending nonblocking operation: a receive remembers where its message goes. */
export type PendingRequest =
  | { readonly kind: "send" }
  | { readonly kind: "recv"; readonly ptr: number; readonly capacity: number; readonly call: string };

export class RankState {
  readonly types = new Datatypes();
  readonly comms = new Handles<CommInfo>(FIRST_COMM);
  readonly groups = new Handles<readonly number[]>(FIRST_GROUP);
  readonly ops = new Handles<OpInfo>(FIRST_OP);
  readonly requests = new Handles<PendingRequest>(FIRST_REQUEST);
  initialized = false;
  finalized = false;

  constructor(readonly side: WasmSide) {
    const world = Array.from({ length: side.size }, (_, i) => i);
    this.comms.set(COMM_WORLD, { rank: side.rank, size: side.size, members: world });
    this.comms.set(COMM_SELF, { rank: 0, size: 1, members: [side.rank] });
    this.groups.set(GROUP_EMPTY, []);
  }

  type(handle: number): Datatype | string {
    return this.types.lookup(handle);
  }
}
