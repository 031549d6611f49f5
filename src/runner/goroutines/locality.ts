import { chanWaitCount } from "../../protocol/chan.ts";

// Runs on a worker thread: whether a goroutine this thread asks for with go() should run on
// this same thread, as Go puts a new goroutine on its parent's processor (its `runnext`).
// Channels made here then stay a function call away instead of a loopback round trip: the
// prime sieve of 400 primes took 1.4 s on one thread and 9.6 s spread over 2 runners × 2
// threads, where each filter's every receive crossed a socket. But a thread runs one thing at
// a time: a parent that fans out work must not pile it all here. So a child stays only while
// nothing else here wants the CPU: every other call on this thread is waiting on a channel,
// and no child this thread asked to keep has yet arrived.

/** Calls running on this thread now (started, not settled). */
let running = 0;
/** Children asked to stay here that have not started yet. */
let arriving = 0;
const waits = chanWaitCount();

/** A call started on this thread (one the driver may have placed here at our asking). */
export function callStarted(): void {
  running++;
  if (arriving > 0) arriving--;
}

export function callSettled(): void {
  running--;
}

/**
 * Asked by go() in a running call: true when the child should run here (and is then counted
 * as arriving), false when it should be placed by load. The caller is running, not waiting.
 */
export function keepHere(): boolean {
  const busy = running - 1 - waits.n + arriving;
  if (busy > 0) return false;
  arriving++;
  return true;
}

/** A child kept here was not asked for after all (its go() threw). */
export function unkeep(): void {
  if (arriving > 0) arriving--;
}
