import type { Logger } from "pino";
import { loadTls } from "../../transport/secure.ts";
import type { CallObserver, PendingCall } from "../calls/call.ts";
import type { ChannelStats } from "../../channels/channel-home.ts";
import { announcement, listenAddress, type DashboardOptions } from "./options.ts";
import { isLoopback } from "../../transport/loopback.ts";
import { DashboardServer } from "./server.ts";
import { functionOf } from "../../protocol/function-name.ts";
import type { DashboardSource, DriverActor, DriverRunner, RunnerChangeListener } from "./source.ts";
import { DashboardModel, DEFAULT_LIMITS, type CallInfo, type ErrorInfo, type ModelLimits } from "./view-model.ts";

/**
 * Back-to-back calls of one function on one runner thread closer than this arrive as one span
 * (with a count): the task stream's narrowest window is 10 s across the page, milliseconds a
 * pixel, and a span per 20 µs call cost the driver 2-3 µs per call (docs/benchmarks.md).
 */
const MERGE_MICROS = 2000;

/** A running dashboard: where it is, and how to stop it. */
export interface Dashboard {
  /** The page's address (never with the token in it). */
  readonly url: string;
  /** The line to print: "Dashboard: <url>", and how to bring the token off loopback. */
  readonly announcement: string;
  close(): Promise<void>;
}

export interface DashboardSettings extends DashboardOptions {
  /** The cluster's token: the default `token` off loopback. */
  clusterToken?: string | undefined;
  /** This driver's owner id (its spans are its own calls, counted through observe). */
  self?: string | undefined;
  /** How often the runners report and the page is updated (default 500 ms). */
  intervalMs?: number;
  limits?: Partial<ModelLimits>;
}

const DEFAULT_INTERVAL_MS = 500;

/** A call as the model hears it (an actor's as Class.method: its export name holds the actor's id). */
const callInfo = (c: PendingCall): CallInfo => ({ seq: c.seq, name: functionOf(c.exportName), rank: c.rank, runner: c.link?.address });

/** An error as the page shows it: the remote stack where there is one, then its causes. */
export function errorInfo(e: Error): ErrorInfo {
  const remote = (e as { remoteStack?: unknown }).remoteStack;
  let stack = typeof remote === "string" ? remote : e.stack;
  let cause = e.cause;
  for (let depth = 0; cause !== undefined && cause !== null && depth < 5; depth++) {
    const c = cause as { name?: unknown; message?: unknown; stack?: unknown; cause?: unknown };
    const line = typeof c.stack === "string" ? c.stack : `${String(c.name ?? "Error")}: ${String(c.message ?? cause)}`;
    stack = `${stack ?? ""}\ncaused by ${line}`;
    cause = c.cause;
  }
  return { message: `${e.name}: ${e.message}`, stack };
}

/**
 * Starts a dashboard on `source`: watches every runner (with spans), hears this driver's
 * calls, and serves the page. Throws (having started nothing) if it cannot listen, or off
 * loopback without a token.
 */
export async function startDashboard(source: DashboardSource, settings: DashboardSettings, log: Logger): Promise<Dashboard> {
  const { host, port, defaultPort } = listenAddress(settings.listen);
  const intervalMs = settings.intervalMs ?? DEFAULT_INTERVAL_MS;
  const model = new DashboardModel({ ...DEFAULT_LIMITS, ...settings.limits }, settings.self);
  // What the driver knows of its runners, channels and actors, read once per update, not per viewer.
  type Known = { runners: readonly DriverRunner[]; channels: readonly ChannelStats[]; actors: readonly DriverActor[] };
  const read = (): Known => {
    const stats = source.stats;
    return { runners: source.runners, channels: stats.channels, actors: stats.actors ?? [] };
  };
  let driver = read();
  const tls = settings.tls === undefined ? undefined : loadTls(settings.tls);
  if (tls !== undefined && (tls.cert === undefined || tls.key === undefined)) throw new TypeError("dashboard: HTTPS needs a certificate and its key (tls: { cert, key })");
  const server = await DashboardServer.start(
    { host, port, defaultPort, token: settings.token ?? settings.clusterToken, tls },
    { picture: (since) => model.picture(Date.now(), driver.runners, driver.channels, since, driver.actors) },
  );
  const observer: CallObserver = {
    submitted: (c) => model.submitted(callInfo(c), Date.now()),
    sent: (c) => model.sent(callInfo(c), Date.now()),
    settled: (c, e) => model.settled(callInfo(c), e === undefined ? undefined : errorInfo(e), Date.now()),
  };
  const onRunner: RunnerChangeListener = (e) => model.runnerChanged(e, Date.now());
  const stopObserving = source.observe(observer);
  source.on("runner", onRunner);
  let stopWatching: () => void;
  try {
    stopWatching = source.watch((a) => model.heard(a, Date.now()), { intervalMs, spans: true, mergeMicros: MERGE_MICROS });
  } catch (err) {
    stopObserving();
    source.off("runner", onRunner);
    await server.close();
    throw err;
  }
  const timer = setInterval(() => {
    driver = read();
    server.push();
  }, intervalMs);
  timer.unref();
  // The token is never printed nor logged: it lets its holder run code on the runners.
  log.info({ url: server.url, access: isLoopback(host) ? "loopback" : "token" }, "dashboard ready");
  let closing: Promise<void> | undefined;
  return {
    url: server.url,
    announcement: announcement(server.url, settings.listen),
    close: () => {
      closing ??= (async () => {
        clearInterval(timer);
        stopWatching();
        stopObserving();
        source.off("runner", onRunner);
        await server.close();
      })();
      return closing;
    },
  };
}
