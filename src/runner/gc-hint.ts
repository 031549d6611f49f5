import v8 from "node:v8";
import vm from "node:vm";

type Gc = (options?: { type?: "major" | "minor"; execution?: "async" | "sync" }) => void;
let gc: Gc | undefined;

/**
 * Asks V8 for a collection, concurrent with the event loop: the object store calls it when
 * it has dropped a batch of big buffers (evicted to disk, or freed). V8 does not count
 * SharedArrayBuffers it can collect as pressure: measured (test/object-spill.test.ts, 200
 * MiB through a 64 MiB budget), a runner's RSS grew to 460 MiB without this hint, and stayed
 * under budget + 64 MiB with it. `--expose-gc` set at run time reaches new contexts only,
 * hence the one made here.
 */
export function collectSoon(): void {
  if (gc === undefined) {
    v8.setFlagsFromString("--expose-gc");
    gc = vm.runInNewContext("gc") as Gc;
  }
  gc({ type: "major", execution: "async" });
}
