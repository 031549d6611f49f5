import { sentFrameOf, T, type Dep } from "../../protocol/messages.ts";
import type { PendingCall } from "../calls/call.ts";
import type { ObjectHolder } from "../objects/object-holder.ts";

/**
 * The Call frame of `call` sent as `id` to `link`: arguments, then the objects they refer
 * to (where the runner finds each, or the value inline). Records where each input is to
 * be fetched from, so a failed fetch can be blamed on that holder. For Connection.send at
 * once (sentFrameOf): nothing may be packed in between.
 */
export function callFrame(id: number, call: PendingCall, link: ObjectHolder): Uint8Array[] {
  const { ref } = call.module;
  if (call.concurrent && !call.usesObjects) return sentFrameOf([T.Call, id, ref, call.wireName, call.solo, null, null, true], call.args);
  if (!call.usesObjects) return sentFrameOf([T.Call, id, ref, call.wireName, call.solo], call.args);
  // Inline values go after the arguments' own attachments, in one array grown in place
  // (a copy of the attachments and a spread per input were ~1/4 of what sending a graph
  // call allocated, bench/dag.ts).
  const args = call.args;
  let segments: Uint8Array[] | undefined;
  const inputs = call.deps;
  const deps: Dep[] = new Array<Dep>(inputs.length);
  for (let k = 0; k < inputs.length; k++) {
    const d = inputs[k]!;
    const value = d.inline ?? call.inlined?.get(d.id);
    if (value !== undefined) {
      segments ??= args.attachments.slice();
      for (let i = 0; i < value.length; i++) segments.push(value[i]!);
      deps[k] = [d.id, null, value.length];
      continue;
    }
    d.contacted.add(link); // it will hold a copy: free it there too
    const fetchedFrom = (call.fetchedFrom ??= new Map());
    if (d.holdsOn(link)) {
      fetchedFrom.set(d.id, undefined);
      deps[k] = [d.id, null];
      continue;
    }
    // Spread fetches over the copies (after a broadcast, every runner has one).
    const holders = d.liveHolders();
    const from = holders.length === 0 ? undefined : holders[id % holders.length];
    fetchedFrom.set(d.id, from);
    deps[k] = [d.id, from?.address ?? null];
  }
  return sentFrameOf([T.Call, id, ref, call.wireName, call.solo, deps, call.keep?.id ?? null, call.concurrent],
    segments === undefined ? args : { body: args.body, attachments: segments });
}
