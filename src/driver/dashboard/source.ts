import type { CallObserver } from "../calls/call.ts";
import type { ChannelStats } from "../../channels/channel-home.ts";
import type { ActivityListener, WatchOptions } from "../observe/runner-watch.ts";

/** A runner as the driver sees it (the fields of the cluster's RunnerStatus the page shows). */
export interface DriverRunner {
  readonly address: string;
  readonly threads: number;
  readonly inFlight: number;
  readonly alive: boolean;
  readonly bytesSent: number;
  readonly bytesReceived: number;
}

/** An actor as this driver knows it (the cluster's `stats.actors`): where it lives, its state and restarts. */
export interface DriverActor {
  readonly id: string;
  readonly className: string;
  readonly name: string | undefined;
  readonly runner: string | undefined;
  readonly state: string;
  readonly restarts: number;
  /** Spawned by this driver (else: reached through a handle it was given). */
  readonly owned: boolean;
  /** This driver's calls to it not sent yet (waiting for their turn, their inputs, or a restart). */
  readonly queued: number;
}

/** A runner lost, left or joined (the cluster's "runner" event, as much as the page needs). */
export interface RunnerChange {
  readonly type: "lost" | "left" | "joined";
  readonly address: string;
  readonly error?: { readonly message: string };
}

export type RunnerChangeListener = (e: RunnerChange) => void;

/**
 * What the dashboard reads of a cluster; the Cluster satisfies it as it is, and tests give a
 * fake. Nothing here changes the cluster: the dashboard only listens and reads.
 */
export interface DashboardSource {
  /** Every runner's activity (counters, usage, spans of every driver's calls). */
  watch(listener: ActivityListener, options?: WatchOptions): () => void;
  /** This driver's own calls: made, sent, settled (with the error, remote stack and all). */
  observe(observer: CallObserver): () => void;
  readonly runners: readonly DriverRunner[];
  readonly stats: { readonly channels: readonly ChannelStats[]; readonly actors?: readonly DriverActor[] };
  on(event: "runner", listener: RunnerChangeListener): unknown;
  off(event: "runner", listener: RunnerChangeListener): unknown;
}
