import { randomBytes } from "node:crypto";
import { ChannelHost } from "../channels/channel-host.ts";
import { HomeClients } from "../channels/home-clients.ts";
import { provideChanMaker, type Chan } from "../protocol/chan.ts";
import { homeOf, threadHome } from "../protocol/chan-id.ts";
import type { Tls } from "../transport/secure.ts";
import { threadMetrics } from "./metrics/thread-metrics.ts";
import { runningCall } from "./call-output.ts";

// Runs on a worker thread: the channels user code makes here with `chan()` (strand/runtime)
// live here, in this thread's own home, and are served to other processes on the thread's
// lane (lane.ts); channels other threads made are reached over one connection to each of
// their lanes. Their values travel thread to thread, never through a driver.

/** Drawn once per thread start: a thread started again answers no id of its predecessor. */
const nonce = randomBytes(8).toString("hex");
let host: ChannelHost | undefined;
let clients: HomeClients | undefined;
/** Drivers with a lane here now, by prefix (a count: a driver may open more than one). */
const drivers = new Map<string, number>();

/** Once the lane listens: channels made here are named by its address. */
export function startThreadChans(advertiseHost: string, port: number, dialing: { token: string | undefined; tls: Tls | undefined; maxFrame: number }): void {
  const address = advertiseHost.includes(":") ? `[${advertiseHost}]:${port}` : `${advertiseHost}:${port}`;
  host = new ChannelHost(threadHome(address, nonce));
  clients = new HomeClients({ ...dialing, opened: (conn) => threadMetrics?.bytes.track(conn, "runner") });
  provideChanMaker((capacity) => {
    const driver = runningCall()?.driver;
    return host!.create(capacity, driver !== undefined ? [driver] : drivers.keys());
  });
}

/** This thread's home, once its lane listens (lane.ts serves it to clients). */
export const threadHost = (): ChannelHost | undefined => host;

/** The handle of a channel some runner thread made (this one, or another): undefined for other ids. */
export function threadChanHandle(id: string, capacity: number): Chan<unknown> | undefined {
  const where = homeOf(id);
  if (where?.kind !== "thread") return undefined;
  if (host !== undefined && where.home === host.prefix) return host.handle(id, capacity);
  if (clients === undefined) throw new TypeError("channels made on runners cannot be reached from this thread yet (its lane is not listening)");
  return clients.handle(id, capacity);
}

/**
 * A driver opened a lane here (it said who it is). A channel belongs to the driver whose
 * call made it, as call-output.ts tells the running call (go() asks the same); where that
 * cannot be told (code run from a timer after its call ended, two async calls in flight
 * outside the store), to every driver with a lane here then, and it breaks when the last
 * of them goes.
 */
export function driverJoined(prefix: string): void {
  drivers.set(prefix, (drivers.get(prefix) ?? 0) + 1);
  // A call can run here before its driver's lane has said who it is (it came by the main thread).
  host?.adopt(prefix);
}

/** A driver's lane here closed: the channels made here that only it owned break, waking their waiters. */
export function driverLeft(prefix: string): void {
  const n = (drivers.get(prefix) ?? 0) - 1;
  if (n > 0) return void drivers.set(prefix, n);
  drivers.delete(prefix);
  host?.ownerLost(prefix, `the driver ${prefix} that made it (through its call) is gone`);
}
