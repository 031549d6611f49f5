import type { Member, MembersChange } from "../protocol/messages.ts";

/** Who hears of changes: a subscribed driver's connection, or a fake in tests. */
export type MembersListener = (change: MembersChange, members: Member[]) => void;

/**
 * The live runner set, as a head keeps it: one member per address, registered by a
 * connection (`owner`). A runner restarted on its address registers again from a new
 * connection and replaces the old entry; the old connection closing later then changes
 * nothing, so a slow-to-notice loss cannot remove the runner that took its place.
 */
export class Membership<Owner = unknown> {
  private readonly byAddress = new Map<string, { member: Member; owner: Owner }>();
  private readonly listeners = new Set<MembersListener>();

  get size(): number {
    return this.byAddress.size;
  }

  /** Every live member, in the order they joined. */
  snapshot(): Member[] {
    return [...this.byAddress.values()].map((e) => e.member);
  }

  /** `listener` hears the whole set now (`all`), then every change. Returns how to stop it. */
  subscribe(listener: MembersListener): () => void {
    this.listeners.add(listener);
    listener("all", this.snapshot());
    return () => this.listeners.delete(listener);
  }

  /** `owner` registers `member` (again, after a head restart: nothing new is told then). */
  join(member: Member, owner: Owner): void {
    const old = this.byAddress.get(member.address);
    if (old !== undefined && old.owner === owner && old.member.id === member.id) return;
    // Map order is join order: a re-registered address moves to the end.
    this.byAddress.delete(member.address);
    this.byAddress.set(member.address, { member, owner });
    this.tell("joined", member);
  }

  /** The runner `owner` registered said goodbye (`left`) or went silent (`lost`). */
  remove(owner: Owner, change: "left" | "lost"): Member | undefined {
    for (const [address, e] of this.byAddress) {
      if (e.owner !== owner) continue;
      this.byAddress.delete(address);
      this.tell(change, e.member);
      return e.member;
    }
    return undefined;
  }

  private tell(change: MembersChange, member: Member): void {
    for (const l of this.listeners) l(change, [member]);
  }
}
