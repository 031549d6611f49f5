import path from "node:path";
import { threadId } from "node:worker_threads";
import { SerializationError } from "../../errors.ts";
import { provideGo } from "../../go.ts";
import { encodeValue } from "../../protocol/codec.ts";
import { frameOf, T } from "../../protocol/messages.ts";
import { frameSize } from "../../transport/frames.ts";
import { runningCall } from "../call-output.ts";
import { ThreadChannel } from "../thread-messages.ts";
import { keepHere, unkeep } from "./locality.ts";

// Runs on a worker thread: `go(f, ...args)` inside a remote function (go.ts). The thread
// knows which export of which bundle each function value is (recorded as it loads a
// module), and which driver's call is running (call-output.ts follows calls across awaits
// for their output; go asks it the same question). It asks that driver to start the
// goroutine (T.Go), over this thread's lane to it when there is one, else through the
// runner's main thread and main connection; the driver places it as it places its own.

type AnyFunction = (...args: never[]) => unknown;

/** Function value -> the bundle (by content hash) and export it is. Weak: a module's functions live as long as it does anyway. */
const exportsOf = new WeakMap<AnyFunction, { hash: string; name: string }>();

/** A module this thread loaded: its exported functions become startable with go(). */
export function noteExports(modulePath: string, ns: Record<string, unknown>): void {
  const hash = path.basename(modulePath, ".mjs"); // bundles are cached by hash (code-cache.ts)
  for (const [name, v] of Object.entries(ns)) {
    // The first name wins for a function exported twice: either starts the same code.
    if (typeof v === "function" && !exportsOf.has(v as AnyFunction)) exportsOf.set(v as AnyFunction, { hash, name });
  }
}

/** This thread's lane port, once it listens: the driver sends a child kept here down it. */
let ownPort: number | undefined;

export function goLanePort(port: number): void {
  ownPort = port;
}

/** This thread's lanes by driver prefix: a T.Go goes down the connection the driver made. */
const lanes = new Map<string, (frame: Uint8Array[]) => void>();

/** A lane declared its driver (`send` on), or closed (off: forgotten if it is still the one kept). */
export function goLane(prefix: string, send: (frame: Uint8Array[]) => void, on = true): void {
  if (on) lanes.set(prefix, send);
  else if (lanes.get(prefix) === send) lanes.delete(prefix);
}

/** Registers go() on this thread. `maxFrame`: the runner's frame limit, which the arguments must fit. */
export function startGoRequests(channelName: string, maxFrame: number): void {
  const main = ThreadChannel.worker(channelName);
  provideGo((f, args) => {
    const target = exportsOf.get(f);
    if (target === undefined) {
      const named = typeof f === "function" && f.name !== "" ? ` (${f.name})` : "";
      throw new TypeError(`go: f${named} is not an exported function of a module the runner loaded: pass an export of a module the cluster imported`);
    }
    const driver = runningCall()?.driver;
    if (driver === undefined) throw new TypeError("go: no remote call of a known driver is running here (called from a timer after its call ended?)");
    const enc = encodeValue(args, "args"); // SerializationError naming the path, at the go call
    if (enc.refs !== undefined) throw new SerializationError("args", "hold a Ref: pass the value (a runner cannot hand out its driver's Refs)");
    const chans: [string, number][] = (enc.chans ?? []).map((c) => [c.id, c.capacity]);
    // Attachments are views of the caller's memory, which it may change once go returns.
    const payload = { body: enc.body, attachments: enc.attachments.map((a) => a.slice()) };
    const lane = lanes.get(driver);
    // Only this thread's lane can bring the child here: the driver is told its port.
    const here = ownPort !== undefined && keepHere();
    const frame = frameOf(here ? [T.Go, target.hash, target.name, chans, ownPort!] : [T.Go, target.hash, target.name, chans], payload);
    const size = frameSize(frame);
    if (size > maxFrame) {
      if (here) unkeep();
      throw new SerializationError("args", `are ${size} bytes encoded, over the runners' ${maxFrame}-byte frame limit`);
    }
    if (lane !== undefined) lane(frame);
    else main.post({ kind: "relay-go", threadId, driver, frame });
  });
}
