import type { ActorStat } from "../../protocol/messages.ts";
import { MAX_CLASSES, OTHER } from "../../protocol/metrics/catalogue.ts";
import type { CountsSnapshot } from "../../protocol/metrics/tally.ts";

/** A scrape's actor gauges by class: actors, calls waiting in their mailboxes, calls running. */
export interface ActorGaugeValues {
  actors: CountsSnapshot;
  mailbox: CountsSnapshot;
  running: CountsSnapshot;
  /** Every class seen so far: a class whose last actor ended reads 0 rather than vanishing (a gauge gone stale in Prometheus for 5 minutes). */
  known: readonly string[];
}

/**
 * A runner's actors as gauges, by class. The first MAX_CLASSES classes seen get series of
 * their own, remembered for the life of the runner; the rest share "other".
 */
export class ActorGauges {
  private readonly seen = new Set<string>();

  read(actors: readonly ActorStat[]): ActorGaugeValues {
    const out: ActorGaugeValues = { actors: {}, mailbox: {}, running: {}, known: [] };
    for (const a of actors) {
      const c = this.classOf(a.className);
      out.actors[c] = (out.actors[c] ?? 0) + 1;
      out.mailbox[c] = (out.mailbox[c] ?? 0) + a.mailbox;
      out.running[c] = (out.running[c] ?? 0) + a.running;
    }
    out.known = [...this.seen];
    return out;
  }

  private classOf(name: string): string {
    if (this.seen.has(name)) return name;
    // ("__proto__" would be a prototype, not a key, in a plain object.)
    if (this.seen.size >= MAX_CLASSES || name === "__proto__") {
      this.seen.add(OTHER);
      return OTHER;
    }
    this.seen.add(name);
    return name;
  }
}
