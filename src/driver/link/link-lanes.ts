import type { Logger } from "pino";
import { parseAddress } from "../../transport/connection.ts";
import type { Tls } from "../../transport/secure.ts";
import { Lane, type LaneOwner } from "./lane.ts";

/**
 * The lanes of one runner: a connection to each of its threads, dialed as the runner
 * announces their ports and dropped as they go. Calls pick the least busy one.
 */
export class LinkLanes {
  private readonly lanes = new Map<number, Lane>(); // port -> lane
  /** Connections to actor threads (not announced as lanes: they take only their actors' calls). */
  private readonly actorLanes = new Map<number, Promise<Lane>>();
  /** Those of them that are open: a call goes down at once, not a promise reaction later. */
  private readonly openActorLanes = new Map<number, Lane>();
  /** Ports being dialed, with what waits for each dial to end (opened or not). */
  private readonly dialing = new Map<number, (() => void)[]>();

  constructor(
    private readonly owner: LaneOwner & { readonly alive: boolean },
    /** For the lanes' handshakes. */
    private readonly token: string | undefined,
    private readonly tls: Tls | undefined,
    private readonly log: Logger,
  ) {}

  get ports(): number[] {
    return [...this.lanes.values()].filter((l) => l.alive).map((l) => l.port);
  }

  /** Bytes written to and read from all lanes. */
  get traffic(): { sent: number; received: number } {
    let sent = 0;
    let received = 0;
    for (const l of this.lanes.values()) {
      sent += l.bytesOut;
      received += l.bytesIn;
    }
    return { sent, received };
  }

  /** The lane with the fewest calls on it, if any; `port`'s, if it is open (go() that asked to stay on its thread). */
  pick(port?: number): Lane | undefined {
    const asked = port === undefined ? undefined : this.lanes.get(port);
    if (asked?.alive === true) return asked;
    let best: Lane | undefined;
    for (const l of this.lanes.values()) if (l.alive && (best === undefined || l.ids.size < best.ids.size)) best = l;
    return best;
  }

  /** The runner told us where its threads listen: connect to new ones, drop gone ones. */
  update(ports: readonly number[]): void {
    const wanted = new Set(ports);
    for (const [port, lane] of this.lanes) if (!wanted.has(port)) lane.close();
    const { host } = parseAddress(this.owner.address);
    for (const port of wanted) {
      if (this.lanes.has(port) || this.dialing.has(port)) continue;
      this.dialing.set(port, []);
      Lane.open(host, port, this.token, this.tls, this.owner).then(
        (lane) => {
          if (this.owner.alive) this.lanes.set(port, lane);
          else lane.close();
          this.dialed(port);
        },
        (err: Error) => {
          this.log.debug({ runner: this.owner.address, port, err: err.message }, "lane not available");
          this.dialed(port);
        },
      );
    }
  }

  /**
   * Runs `then` once the dial to `port` ends, and returns true, if that lane is being dialed
   * now; false (nothing is run) otherwise.
   */
  whenDialed(port: number, then: () => void): boolean {
    const waiting = this.dialing.get(port);
    if (waiting === undefined) return false;
    waiting.push(then);
    return true;
  }

  private dialed(port: number): void {
    const waiting = this.dialing.get(port) ?? [];
    this.dialing.delete(port);
    for (const then of waiting) then();
  }

  /**
   * The connection to the actor thread listening on `port`, dialed on first use and kept for
   * the link's life: the thread's actors owned by this driver live as long as it stays open.
   */
  actorLane(port: number): Promise<Lane> {
    let lane = this.actorLanes.get(port);
    if (lane === undefined) {
      const { host } = parseAddress(this.owner.address);
      lane = Lane.open(host, port, this.token, this.tls, this.owner, true);
      this.actorLanes.set(port, lane);
      // Registered before any caller's reaction: calls queued while dialing still go first.
      lane.then((l) => {
        if (this.actorLanes.get(port) === lane) this.openActorLanes.set(port, l);
      }, () => this.actorLanes.delete(port));
    }
    return lane;
  }

  /** The open connection to the actor thread on `port`, if there is one now. */
  openActorLane(port: number): Lane | undefined {
    const l = this.openActorLanes.get(port);
    return l?.alive === true ? l : undefined;
  }

  /** Tells an actor thread that call `id`'s caller gave up on it. */
  cancelOnActorLane(port: number, id: number): void {
    void this.actorLanes.get(port)?.then((l) => l.cancel(id), () => {});
  }

  /** A lane closed: it takes no more calls. */
  forget(lane: Lane): void {
    if (this.lanes.get(lane.port) === lane) this.lanes.delete(lane.port);
    if (lane.actors) {
      this.actorLanes.delete(lane.port);
      if (this.openActorLanes.get(lane.port) === lane) this.openActorLanes.delete(lane.port);
    }
  }

  /** The link is going: every lane forgets its calls (already failed) and closes. */
  closeAll(graceful: boolean): void {
    for (const pending of this.actorLanes.values()) void pending.then((l) => (graceful ? l.close() : l.destroy()), () => {});
    this.actorLanes.clear();
    this.openActorLanes.clear();
    for (const lane of this.lanes.values()) {
      lane.ids.clear();
      if (graceful) lane.close();
      else lane.destroy();
    }
    this.lanes.clear();
  }
}
