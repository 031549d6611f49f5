import { RunnerLostError } from "../errors.ts";
import type { PendingCall } from "./call.ts";
import type { RunnerLink } from "./runner-link.ts";

/**
 * Decides which runner gets a call: the one with the most free threads among those
 * whose window has room. Calls wait here, in order, while every window is full;
 * a finished call pulls the next one. No timers, no polling.
 */
export class Scheduler {
  private links: RunnerLink[] = [];
  private queue: (PendingCall | undefined)[] = [];
  private head = 0;

  get queued(): number {
    return this.queue.length - this.head;
  }

  add(link: RunnerLink): void {
    this.links.push(link);
    this.pump();
  }

  remove(link: RunnerLink): void {
    this.links = this.links.filter((l) => l !== link);
    if (this.links.length === 0) this.failQueued(new RunnerLostError(link.address, "no runners left"));
    else this.pump();
  }

  submit(call: PendingCall): void {
    if (this.queued === 0) {
      const link = this.pick();
      if (link !== undefined) {
        link.send(call);
        return;
      }
    }
    if (this.links.length === 0) {
      call.reject(new RunnerLostError("(none)", "no runners in the cluster"));
      return;
    }
    call.queued = true;
    this.queue.push(call);
  }

  /** Takes a call out of the queue (timeout or cancel before it was sent). */
  withdraw(call: PendingCall): void {
    if (!call.queued) return;
    call.queued = false;
    const i = this.queue.indexOf(call, this.head);
    if (i >= 0) this.queue[i] = undefined;
  }

  slotFreed(_link: RunnerLink): void {
    this.pump();
  }

  private pump(): void {
    while (this.head < this.queue.length) {
      const call = this.queue[this.head];
      if (call === undefined || call.settled) {
        this.queue[this.head++] = undefined;
        continue;
      }
      const link = this.pick();
      if (link === undefined) break;
      this.queue[this.head++] = undefined;
      call.queued = false;
      link.send(call);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private pick(): RunnerLink | undefined {
    let best: RunnerLink | undefined;
    let bestFree = -Infinity;
    for (const l of this.links) {
      if (!l.hasRoom) continue;
      const free = l.threads - l.inFlight;
      if (free > bestFree) {
        best = l;
        bestFree = free;
      }
    }
    return best;
  }

  private failQueued(err: Error): void {
    const calls = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    for (const c of calls) c?.reject(err);
  }
}
