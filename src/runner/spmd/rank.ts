import { AsyncLocalStorage } from "node:async_hooks";
import { readFileSync } from "node:fs";
import os from "node:os";
import { threadId } from "node:worker_threads";
import { provideComm, type Comm } from "../../comm.ts";
import { JobAbortedError, ProtocolError } from "../../errors.ts";
import type { JobNews, RankDescriptor } from "../../protocol/spmd-wire.ts";
import { bindRank, type Bound } from "./binding.ts";
import { Communicator } from "./communicator.ts";
import { rankConfig } from "./config.ts";
import { Endpoint } from "./endpoint.ts";

// Runs one rank of an SPMD job on this thread: open the rank's endpoint, tell the driver
// where it listens, wait for the table of all ranks, then run the user's function with
// `comm()` answering this rank's world communicator. The endpoint lives until the driver
// says the job ended (every rank's function returned) or was aborted.

const running = new AsyncLocalStorage<Comm>();

/** This machine, as ranks on it are told apart from others for binding: host name and boot id. */
const node = ((): string => {
  try {
    return `${os.hostname()}/${readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()}`;
  } catch {
    return os.hostname();
  }
})();
provideComm(() => running.getStore());

function isDescriptor(v: unknown): v is RankDescriptor {
  const d = v as Partial<RankDescriptor> | undefined;
  return typeof d === "object" && d !== null && typeof d.job === "string" && typeof d.rank === "number" && typeof d.size === "number"
    && typeof d.up === "object" && typeof d.down === "object";
}

const aborted = (news: JobNews): JobAbortedError | undefined =>
  "abort" in news ? new JobAbortedError(news.abort.rank, news.abort.reason) : undefined;

/** `args` ends with the rank's descriptor (taken off here); `run` calls the user's function with the rest. */
export async function runRank(args: unknown[], run: (args: unknown[]) => unknown): Promise<unknown> {
  const desc = args.pop();
  if (!isDescriptor(desc)) throw new ProtocolError("an SPMD rank's call lacks its descriptor");
  const cfg = rankConfig();
  const ep = await Endpoint.open(desc.job, desc.rank, desc.size, cfg);
  let first: JobNews;
  try {
    await desc.up.send({ rank: desc.rank, port: ep.port, thread: threadId, node });
    const r = await desc.down.recv();
    if (r.done) throw new JobAbortedError(-1, "the job ended before this rank started");
    first = r.value;
  } catch (err) {
    ep.close();
    throw err;
  }
  const failed = aborted(first);
  if (failed !== undefined || !("table" in first)) {
    ep.close();
    throw failed ?? new ProtocolError("expected the table of ranks");
  }
  // Bound before the first message: a rank waiting on a peer of this process polls only
  // when both have CPUs of their own (see binding.ts, local-links.ts).
  let bound: Bound | undefined;
  if ((cfg.bind ?? "core") === "core") bound = await bindRank(first.table, desc.rank);
  ep.connect(first.table, bound !== undefined);
  // The driver's news: maybe an abort, then the channel closing once every rank settled.
  void (async () => {
    try {
      for (let r = await desc.down.recv(); !r.done; r = await desc.down.recv()) {
        const err = aborted(r.value);
        if (err !== undefined) ep.abort(err);
      }
    } catch (err) {
      ep.abort(new JobAbortedError(-1, `lost the driver: ${(err as Error).message}`));
    }
    ep.close();
  })();
  try {
    return await running.run(Communicator.world(ep), () => run(args));
  } finally {
    // The thread's own CPUs back as soon as its rank returns: it runs other calls next.
    await bound?.restore();
  }
}
