import type { MpiCall } from "../../src/runner/wasm/mpi/messages.ts";
import { mpiImports, type MpiImport, type MpiRequest, type WasmSide } from "../../src/runner/wasm/mpi/index.ts";

// A Wasm thread's side without a runner: requests are recorded and answered at once as a job
// of one rank would (or by the test's own `answer`). Lets unit tests call the MPI imports on a
// memory of their own and see what reached the rank thread, and what did not.

export class FakeSide implements WasmSide {
  readonly calls: MpiCall[] = [];
  readonly mem = new WebAssembly.Memory({ initial: 1 });
  private readonly queue: { data: Uint8Array; tag: number }[] = [];
  answer: (req: MpiCall) => unknown = (req) => this.alone(req);
  exp: WebAssembly.Exports | undefined;

  constructor(readonly rank = 0, readonly size = 1) {}

  memory(): WebAssembly.Memory {
    return this.mem;
  }

  exports(): WebAssembly.Exports {
    if (this.exp === undefined) throw new Error("no instance");
    return this.exp;
  }

  call(req: MpiRequest): unknown {
    const q = req as unknown as MpiCall;
    this.calls.push(q);
    return this.answer(q);
  }

  /** One rank alone: messages to itself, collectives of its own contribution. */
  private alone(q: MpiCall): unknown {
    switch (q.op) {
      case "send": this.queue.push({ data: q.data, tag: q.tag }); return undefined;
      case "recv": { const m = this.queue.shift()!; return { data: m.data, source: 0, tag: m.tag }; }
      case "bcast": return q.data;
      case "gather": case "allgather": return [q.data];
      case "scatter": return q.pieces![0];
      case "alltoall": return q.pieces;
      case "reduce": case "allreduce": case "scan": case "reduce_scatter": return q.data;
      case "split": return { rank: 0, size: 1, members: [this.rank] };
      default: return undefined;
    }
  }

  get u8(): Uint8Array {
    return new Uint8Array(this.mem.buffer);
  }

  get dv(): DataView {
    return new DataView(this.mem.buffer);
  }
}

/** The MPI imports over a fake side, MPI_Init already called. */
export function fakeRank(rank = 0, size = 1): { side: FakeSide; mpi: Record<string, MpiImport> } {
  const side = new FakeSide(rank, size);
  const mpi = mpiImports(side);
  mpi.MPI_Init!(0, 0);
  return { side, mpi };
}
