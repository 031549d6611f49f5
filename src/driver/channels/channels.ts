import { ChannelBrokenError } from "../../errors.ts";
import { ChannelHost } from "../../channels/channel-host.ts";
import { HomeClients, type HomeDialing } from "../../channels/home-clients.ts";
import type { Chan } from "../../protocol/chan.ts";
import { homeOf } from "../../protocol/chan-id.ts";
import { setChanReviver } from "../../protocol/codec.ts";

/** Every cluster's channels in this process, by id prefix: decoding a channel finds its handle. */
const byPrefix = new Map<string, Channels>();
/** Open clusters, newest last: channels made on runner threads are reached with the newest one's token and TLS. */
const open: Channels[] = [];
setChanReviver((id, capacity) => {
  const where = homeOf(id);
  if (where?.kind === "thread") {
    const c = open.at(-1);
    if (c === undefined) throw new ChannelBrokenError(id, "no open cluster in this process to reach its home with");
    return c.threadHandle(id, capacity);
  }
  const owner = where === undefined ? undefined : byPrefix.get(where.home);
  if (owner === undefined) throw new ChannelBrokenError(id, "this process is not the channel's home");
  return owner.handle(id, capacity);
});

/**
 * A driver's channels: those it made (homed here: a ChannelHost), and its connections to
 * the runner threads homing the channels runners made (HomeClients).
 */
export class Channels extends ChannelHost {
  private clients: HomeClients | undefined;
  /** Bytes of this driver's connections to runner threads' homes, closed ones included. */
  private readonly homeConns: { bytesIn: number; bytesOut: number }[] = [];

  constructor(prefix: string) {
    super(prefix);
    byPrefix.set(prefix, this);
    open.push(this);
  }

  /** How this driver dials runner threads for their channels (its token and TLS). */
  dialHomes(dialing: HomeDialing): void {
    this.clients = new HomeClients({ ...dialing, opened: (conn) => this.homeConns.push(conn) });
  }

  /** Bytes written to and read from runner threads as the homes of their channels. */
  get homeTraffic(): { sent: number; received: number } {
    return this.homeConns.reduce((t, c) => ({ sent: t.sent + c.bytesOut, received: t.received + c.bytesIn }), { sent: 0, received: 0 });
  }

  threadHandle(id: string, capacity: number): Chan<unknown> {
    if (this.clients === undefined) throw new ChannelBrokenError(id, "this cluster is not connected yet");
    return this.clients.handle(id, capacity);
  }

  /** The cluster is closing: its channels break, and channels of runner threads are out of reach. */
  override closeAll(reason: string): void {
    super.closeAll(reason);
    this.clients?.close(reason);
    byPrefix.delete(this.prefix);
    const i = open.indexOf(this);
    if (i >= 0) open.splice(i, 1);
  }
}
