import { PendingCall } from "../../src/driver/calls/call.ts";
import { RetryPolicy } from "../../src/driver/calls/retry-policy.ts";
import { Scheduler } from "../../src/driver/calls/scheduler.ts";
import { TaskGraph } from "../../src/driver/calls/task-graph.ts";
import type { Kept, ObjectEntry } from "../../src/driver/objects/object-entry.ts";
import { ObjectTable } from "../../src/driver/objects/object-table.ts";
import type { Ref } from "../../src/driver/objects/ref.ts";
import { makeCall, type CallOptions, type TestCall } from "./fake-call.ts";
import { FakeRunner, type FakeRunnerOptions } from "./fake-runner.ts";

/** An object as a test holds it: the driver's entry and the user's Ref. */
export interface TestObject {
  entry: ObjectEntry;
  ref: Ref<unknown>;
}

/** An object made by a call (`f.ref`), with the call making it. */
export interface MadeObject extends TestObject {
  producer: PendingCall;
}

/** How the cluster itself behaves (given among its runners' options, anywhere). */
export interface FakeClusterOptions {
  /** ms calls wait for a usable runner (default 0: they fail at once, as before waitForRunners). */
  waitForRunners: number;
}

/**
 * The driver's call machinery wired to fake runners the way cluster.ts wires it to real
 * links: a finished call frees a slot, a lost runner's objects and place go, plain calls
 * retry through the policy, calls with objects go through the task graph.
 */
export class FakeCluster {
  readonly scheduler: Scheduler;
  readonly retries: RetryPolicy;
  readonly objects = new ObjectTable();
  readonly graph: TaskGraph;
  readonly runners: FakeRunner[];

  constructor(...options: (FakeRunnerOptions | FakeClusterOptions)[]) {
    const own = options.find((o): o is FakeClusterOptions => "waitForRunners" in o);
    this.scheduler = new Scheduler(own?.waitForRunners ?? 0);
    this.retries = new RetryPolicy(() => this.scheduler.willPlace);
    this.graph = new TaskGraph(this.objects, this.scheduler, this.retries);
    this.runners = options.filter((o): o is FakeRunnerOptions => o !== own).map((o) => this.join(o));
  }

  /** A runner joins: the scheduler may give it work at once. */
  join(options: FakeRunnerOptions = {}): FakeRunner {
    const runner = new FakeRunner({
      ...options,
      host: {
        slotFreed: (r) => this.scheduler.slotFreed(r),
        lost: (r) => {
          this.objects.linkLost(r);
          this.scheduler.remove(r);
        },
      },
    });
    this.scheduler.add(runner);
    return runner;
  }

  /** `f(...)`: a plain call, or one through the task graph if it reads objects. */
  call(name: string, options: CallOptions = {}): TestCall {
    const c = makeCall(name, options);
    if (c.call.deps.length > 0) {
      this.graph.add(c.call);
    } else {
      c.call.retry = (e) => this.retries.take(c.call, e, () => this.scheduler.resubmit(c.call));
      this.scheduler.submit(c.call);
    }
    return c;
  }

  /** `f.ref(...)`: a call whose result stays on its runner, as the object it returns. */
  ref(name: string, deps: readonly ObjectEntry[] = [], retries?: number): MadeObject {
    const slot: { entry?: ObjectEntry } = {};
    const call: PendingCall = new PendingCall({ ref: 1, hash: "h" }, name, { body: new Uint8Array(0), attachments: [] }, false,
      (kept) => this.objects.made(slot.entry!, call.link!, kept as Kept),
      (e) => this.objects.failed(slot.entry!, e),
      deps);
    if (retries !== undefined) call.retries = retries;
    const { ref, entry } = this.objects.create<unknown>(call);
    slot.entry = entry;
    entry.producer = call;
    call.keep = entry;
    this.graph.add(call);
    return { entry, ref, producer: call };
  }

  /** `cluster.put(v)` already stored on `holder`, `bytes` long. */
  put(holder: FakeRunner, bytes: number): TestObject {
    const { ref, entry } = this.objects.create<unknown>(undefined);
    entry.bytes = bytes;
    entry.putOn = holder;
    holder.putBytes += bytes;
    entry.holders.add(holder);
    entry.contacted.add(holder);
    holder.stored.set(entry.id, "put value");
    return { entry, ref };
  }
}

/** Lets the calls deferred to the end of a task (graph ranking, resends) go. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
