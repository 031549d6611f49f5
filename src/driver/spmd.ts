import { JobAbortedError } from "../errors.ts";
import type { Chan } from "../protocol/chan.ts";
import type { JobNews, RankAddress, RankDescriptor, RankHello } from "../protocol/spmd-wire.ts";
import { parseAddress } from "../transport/connection.ts";
import type { RunnerPort } from "./calls/runner-port.ts";
import type { WasmJobOptions } from "./wasm-program.ts";

// An SPMD job (MPI's mpirun): `size` calls of one function, one per rank, started at once
// and pinned to runners. The driver is the job's process manager: it collects where each
// rank listens, hands every rank the table, and on the first failure tells every other
// rank to abort. The messages between ranks never pass through here (runner/spmd/).

export interface SpmdOptions {
  /** Ranks in the job. */
  size: number;
  /**
   * The runner (index in the cluster's runner list) of each rank. Default: ranks in blocks,
   * each runner taking a share proportional to its threads (consecutive ranks share a runner).
   */
  placement?: readonly number[];
  /** For a C program (`spmd(n, "prog.wasm")`): its environment and memory limit. */
  wasm?: WasmJobOptions;
}

/** What a job needs from its cluster. */
export interface SpmdHost {
  /** The cluster's runner links, in order (dead ones included: placement indexes them). */
  links(): readonly RunnerPort[];
  /** Resolves once a runner is usable (at once if one is); rejects as a call waiting for one would fail. */
  whenLive(): Promise<void>;
  chan<T>(capacity: number): Chan<T>;
  /** Throws what a call with these arguments would (at the call site, before any rank starts). */
  checkArgs(args: unknown[]): void;
  /** Runs one rank's call on `link` (args end with the rank's descriptor). */
  callRank(link: RunnerPort, rank: number, args: unknown[]): Promise<unknown>;
  /** For job ids unique within the driver. */
  prefix: string;
}

let jobs = 0;

/** Ranks in blocks, a runner's share proportional to its threads (largest remainders). */
export function blockPlacement(size: number, threads: readonly number[]): number[] {
  const total = threads.reduce((a, b) => a + b, 0);
  const exact = threads.map((t) => (size * t) / total);
  const counts = exact.map(Math.floor);
  const byRemainder = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0, left = size - counts.reduce((a, b) => a + b, 0); k < left; k++) counts[byRemainder[k]![1]]!++;
  return counts.flatMap((c, i) => new Array<number>(c).fill(i));
}

/** What can be checked before there is a runner: the size, and the placement's length. */
function checkShape(o: SpmdOptions): void {
  if (!Number.isInteger(o.size) || o.size < 1) throw new TypeError(`spmd: size must be a whole number >= 1, got ${String(o.size)}`);
  if (o.placement !== undefined && o.placement.length !== o.size) throw new TypeError(`spmd: placement names ${o.placement.length} runners for ${o.size} ranks`);
}

function checkPlacement(o: SpmdOptions, runners: number): number[] | undefined {
  if (o.placement === undefined) return undefined;
  for (const [rank, r] of o.placement.entries()) {
    if (!Number.isInteger(r) || r < 0 || r >= runners) throw new TypeError(`spmd: placement of rank ${rank} is ${String(r)}, not a runner index 0..${runners - 1}`);
  }
  return [...o.placement];
}

const describe = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

export async function runJob(host: SpmdHost, options: SpmdOptions, args: unknown[]): Promise<unknown[]> {
  checkShape(options);
  host.checkArgs(args);
  // A job waits for a runner as a call does (waitForRunners); it is placed on those there then.
  let links = host.links();
  while (!links.some((l) => l.usable)) {
    await host.whenLive();
    links = host.links();
  }
  const given = checkPlacement(options, links.length);
  const live = links.filter((l) => l.usable);
  const { size } = options;
  const placement = given ?? blockPlacement(size, live.map((l) => l.threads)).map((i) => links.indexOf(live[i]!));
  // Every rank must run at once (they wait for each other). Ranks hold channels, so they
  // are goroutines: a runner starts any number of them at once (or refuses one at its memory
  // limit, which fails the job), so no placement can hang for want of room.

  const job = `${host.prefix}.job${++jobs}`;
  const up = host.chan<RankHello>(size);
  const downs = placement.map(() => host.chan<JobNews>(2));
  let aborted: JobAbortedError | undefined;
  const closeAll = (): void => {
    for (const c of [up, ...downs]) c.close().catch(() => {}); // closing twice is harmless here
  };
  const abort = (rank: number, err: unknown): void => {
    if (aborted !== undefined) return;
    // A rank that saw another one fail names that one: it is the cause, not this rank.
    const cause = err instanceof JobAbortedError ? err : undefined;
    aborted = cause ?? new JobAbortedError(rank, describe(err), { cause: err });
    const news: JobNews = { abort: { rank: aborted.rank, reason: aborted.reason } };
    // Buffered (capacity 2: the table, then this): never blocks, whether or not the rank
    // still listens. The channels close only once every rank has settled (below), so that
    // ranks keep their connections until no peer can mistake a close for a failure.
    for (const d of downs) d.send(news).catch(() => {});
  };

  const results = placement.map((runner, rank) => {
    const descriptor: RankDescriptor = { job, rank, size, up, down: downs[rank]! };
    return host.callRank(links[runner]!, rank, [...args, descriptor]).catch((err: unknown) => {
      abort(rank, err);
      throw err;
    });
  });

  // Wire-up: every rank's address, then the table to every rank.
  void (async () => {
    const hellos = new Array<RankHello>(size);
    for (let n = 0; n < size; n++) {
      const r = await up.recv();
      if (r.done) return;
      hellos[r.value.rank] = r.value;
    }
    const table: RankAddress[] = placement.map((runner, rank) => ({
      host: parseAddress(links[runner]!.address).host, port: hellos[rank]!.port, thread: hellos[rank]!.thread, runner,
      ...(hellos[rank]!.node !== undefined ? { node: hellos[rank]!.node } : {}),
    }));
    for (const d of downs) {
      if (aborted !== undefined) return; // its abort may already be in the channel: no table after it
      await d.send({ table });
    }
  })().catch((err: unknown) => abort(-1, err));

  const settled = await Promise.allSettled(results);
  if (aborted !== undefined) {
    closeAll();
    throw aborted;
  }
  closeAll(); // the job's end: ranks drop their connections
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value);
}
