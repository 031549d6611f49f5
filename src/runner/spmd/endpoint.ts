import { SerializationError } from "../../errors.ts";
import { decodeValue, encodeValue } from "../../protocol/codec.ts";
import type { RankAddress } from "../../protocol/spmd-wire.ts";
import type { RankConfig } from "./config.ts";
import { LocalLinks } from "./local-links.ts";
import { Mailbox, type Envelope } from "./mailbox.ts";
import { RemoteLinks } from "./remote-links.ts";

// One rank's messaging: a send goes to itself, to a rank in the same runner process (memory),
// or to a rank on another runner (TCP); every arrival goes through the same mailbox. Ranks
// are numbered in the job here; communicators translate their own numbering.

export class Endpoint {
  private readonly mailbox = new Mailbox();
  private readonly local: LocalLinks;
  private remote!: RemoteLinks;
  private table: RankAddress[] = [];
  private failure: Error | undefined;

  private constructor(readonly job: string, readonly rank: number, readonly size: number) {
    this.local = new LocalLinks(job, rank, (m) => this.mailbox.deliver(m));
  }

  /** Opens this rank's inbox (memory) and its server (TCP): the port goes to the driver. */
  static async open(job: string, rank: number, size: number, cfg: RankConfig): Promise<Endpoint> {
    const ep = new Endpoint(job, rank, size);
    try {
      ep.remote = await RemoteLinks.listen(job, rank, size, cfg, {
        deliver: (m) => ep.mailbox.deliver(m),
        lost: (r, err) => ep.mailbox.senderLost(r, err),
      });
    } catch (err) {
      ep.local.close();
      throw err;
    }
    return ep;
  }

  get port(): number {
    return this.remote.port;
  }

  /** Where every rank listens (from the driver); ranks whose runner is ours share memory. */
  connect(table: RankAddress[]): void {
    this.table = table;
    this.remote.setTable(table);
  }

  send(dest: number, context: string, tag: number, value: unknown): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    let enc;
    try {
      enc = encodeValue(value, "value");
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (enc.refs !== undefined || enc.chans !== undefined) {
      return Promise.reject(new SerializationError("value", "holds a Ref or a channel: messages between ranks carry plain values"));
    }
    const segments = [enc.body, ...enc.attachments];
    if (dest === this.rank) {
      // To itself: a copy, as any other destination would get.
      this.mailbox.deliver({ context, source: dest, tag, value: decodeValue(enc.body, enc.attachments.map((a) => a.slice())) });
      return Promise.resolve();
    }
    if (this.table[dest]!.runner === this.table[this.rank]!.runner) {
      this.local.send(dest, context, tag, segments);
      return Promise.resolve();
    }
    // Attachments are views of the caller's memory: wait until the kernel has them.
    return this.remote.send(dest, context, tag, segments, enc.attachments.length > 0);
  }

  receive(context: string, source: number, tag: number): Promise<Envelope> {
    return this.mailbox.receive(context, source, tag);
  }

  /** The job was aborted: everything pending or later fails with `err`. */
  abort(err: Error): void {
    this.failure ??= err;
    this.mailbox.fail(err);
  }

  close(): void {
    this.local.close();
    this.remote.close();
  }
}
