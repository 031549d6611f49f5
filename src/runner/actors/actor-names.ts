import { ActorExistsError } from "../../errors.ts";

/**
 * The names of the actors on this runner, kept by its main thread: a name is taken when its
 * spawn arrives (before the actor exists, so two spawns of one name racing here cannot both
 * win: `getOrSpawn` from two drivers meets on one runner), and freed if the spawn fails or
 * the actor goes. Pure (test/unit/actor-names.test.ts).
 */
export class ActorNames {
  private readonly byName = new Map<string, string>();
  private readonly byId = new Map<string, string>();
  /** The actors on each thread, so that a thread's death frees their names. */
  private readonly onThread = new Map<number, Set<string>>();

  /** Takes `name` for `actorId`, or throws ActorExistsError naming the actor that has it. */
  take(name: string, actorId: string): void {
    const holder = this.byName.get(name);
    if (holder !== undefined) throw new ActorExistsError(name, holder);
    this.byName.set(name, actorId);
    this.byId.set(actorId, name);
  }

  /** The actor holding `name`, if any. */
  holder(name: string): string | undefined {
    return this.byName.get(name);
  }

  /** A thread says which actors came and went there. */
  changed(threadId: number, born: readonly string[], gone: readonly string[]): void {
    let ids = this.onThread.get(threadId);
    if (ids === undefined) this.onThread.set(threadId, (ids = new Set()));
    for (const id of born) ids.add(id);
    for (const id of gone) {
      ids.delete(id);
      this.free(id);
    }
  }

  /** The actor is gone, or its spawn failed: its name is free. */
  free(actorId: string): void {
    const name = this.byId.get(actorId);
    if (name === undefined) return;
    this.byId.delete(actorId);
    if (this.byName.get(name) === actorId) this.byName.delete(name);
  }

  /** A thread died: its actors went with it. */
  threadGone(threadId: number): void {
    for (const id of this.onThread.get(threadId) ?? []) this.free(id);
    this.onThread.delete(threadId);
  }
}
