// Checks a trace against Chrome's Trace Event Format as Perfetto and chrome://tracing read it,
// independently of the writer (src/driver/observe/trace/): required fields per phase, clean
// nesting of complete events per track, flows paired and bound to slices. For the unit and
// integration tests of traces.

export interface XEvent { ph: "X"; name: string; cat: string; pid: number; tid: number; ts: number; dur: number; args: Record<string, unknown> }
export interface FlowLink { id: number; cat: string; from: XEvent; to: XEvent }
export interface CheckedTrace {
  slices: XEvent[];
  flows: FlowLink[];
  /** Names of processes and threads, by pid and "pid/tid". */
  processNames: Map<number, string>;
  threadNames: Map<string, string>;
}

const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Throws, naming the event, at the first thing a viewer would refuse or draw wrong. */
export function checkTrace(json: unknown): CheckedTrace {
  if (!isObj(json) || !Array.isArray(json.traceEvents)) throw new Error("not a Trace Event JSON object: no traceEvents array");
  if (json.displayTimeUnit !== undefined && json.displayTimeUnit !== "ms" && json.displayTimeUnit !== "ns") throw new Error(`bad displayTimeUnit ${String(json.displayTimeUnit)}`);
  const slices: XEvent[] = [];
  const starts = new Map<number, Record<string, unknown>>();
  const ends = new Map<number, Record<string, unknown>>();
  const processNames = new Map<number, string>();
  const threadNames = new Map<string, string>();
  for (const e of json.traceEvents as unknown[]) {
    const say = (what: string): Error => new Error(`${what}: ${JSON.stringify(e)}`);
    if (!isObj(e)) throw say("an event that is not an object");
    if (typeof e.ph !== "string") throw say("no phase");
    if (!isInt(e.pid) || !isInt(e.tid)) throw say("pid and tid must be integers");
    if (typeof e.name !== "string") throw say("no name");
    switch (e.ph) {
      case "M":
        if (!isObj(e.args)) throw say("metadata without args");
        if (e.name === "process_name") processNames.set(e.pid, String(e.args.name));
        else if (e.name === "thread_name") threadNames.set(`${e.pid}/${e.tid}`, String(e.args.name));
        else if (e.name === "process_sort_index" || e.name === "thread_sort_index") {
          if (!isInt(e.args.sort_index)) throw say("a sort index that is not an integer");
        } else throw say("unknown metadata");
        break;
      case "X":
        if (!isNum(e.ts) || e.ts < 0 || !isNum(e.dur) || e.dur < 0) throw say("a complete event needs ts >= 0 and dur >= 0");
        if (typeof e.cat !== "string") throw say("no category");
        if (e.args !== undefined && !isObj(e.args)) throw say("args must be an object");
        slices.push(e as unknown as XEvent);
        break;
      case "s":
      case "f": {
        if (!isNum(e.ts) || !isInt(e.id) || typeof e.cat !== "string") throw say("a flow event needs ts, an integer id and a category");
        if (e.ph === "f" && e.bp !== "e") throw say("a flow end must bind to its enclosing slice (bp: e)");
        const m = e.ph === "s" ? starts : ends;
        if (m.has(e.id)) throw say(`flow id ${e.id} ${e.ph === "s" ? "starts" : "ends"} twice`);
        m.set(e.id, e);
        break;
      }
      case "i":
        if (!isNum(e.ts) || !["g", "p", "t"].includes(String(e.s))) throw say("an instant event needs ts and a scope");
        break;
      default:
        throw say(`phase ${e.ph} is not one this writer should emit`);
    }
  }

  // Nesting: on each track, a slice starting inside another ends inside it.
  const byTrack = new Map<string, XEvent[]>();
  for (const s of slices) {
    const k = `${s.pid}/${s.tid}`;
    byTrack.set(k, [...(byTrack.get(k) ?? []), s]);
  }
  for (const [k, list] of byTrack) {
    list.sort((a, b) => a.ts - b.ts || b.dur - a.dur);
    const stack: XEvent[] = [];
    for (const s of list) {
      while (stack.length > 0 && stack[stack.length - 1]!.ts + stack[stack.length - 1]!.dur <= s.ts) stack.pop();
      const top = stack[stack.length - 1];
      if (top !== undefined && s.ts + s.dur > top.ts + top.dur) {
        throw new Error(`track ${k}: ${JSON.stringify(s)} overlaps ${JSON.stringify(top)} without nesting in it`);
      }
      stack.push(s);
    }
  }

  // Flows: each id starts once and ends once, each end bound to the innermost slice around it.
  const innermost = (pid: number, tid: number, ts: number): XEvent | undefined => {
    let best: XEvent | undefined;
    for (const s of byTrack.get(`${pid}/${tid}`) ?? []) {
      if (s.ts <= ts && ts <= s.ts + s.dur && (best === undefined || s.dur <= best.dur)) best = s;
    }
    return best;
  };
  const flows: FlowLink[] = [];
  for (const [id, s] of starts) {
    const f = ends.get(id);
    if (f === undefined) throw new Error(`flow ${id} starts but never ends`);
    const from = innermost(s.pid as number, s.tid as number, s.ts as number);
    const to = innermost(f.pid as number, f.tid as number, f.ts as number);
    if (from === undefined || to === undefined) throw new Error(`flow ${id} is not inside a slice at one end: ${JSON.stringify([s, f])}`);
    flows.push({ id, cat: s.cat as string, from, to });
  }
  for (const id of ends.keys()) if (!starts.has(id)) throw new Error(`flow ${id} ends but never starts`);
  return { slices, flows, processNames, threadNames };
}
