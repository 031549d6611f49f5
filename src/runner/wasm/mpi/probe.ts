import type { Comm } from "../../../comm.ts";
import type { ProbeReply } from "./messages.ts";
import { SelfComm } from "./self-comm.ts";

// MPI_Probe and MPI_Iprobe over comm()'s probe/iprobe: the envelope and size of the first
// message that matches, left where a receive will find it.

interface Envelope {
  readonly source: number;
  readonly tag: number;
  readonly value?: unknown;
}

interface Probing {
  probe(source?: number, tag?: number): Promise<Envelope>;
  iprobe(source?: number, tag?: number): Envelope | undefined | Promise<Envelope | undefined>;
}

export async function probe(c: Comm, source: number, tag: number, wait: boolean, size: (value: unknown) => number): Promise<ProbeReply> {
  const reply = (e: Envelope | undefined): ProbeReply => (e === undefined ? null : { source: e.source, tag: e.tag, bytes: size(e.value) });
  if (c instanceof SelfComm) {
    const m = c.peek(source, tag);
    if (m !== undefined || !wait) return reply(m);
  }
  const p = c as Comm & Partial<Probing>;
  if (p.probe === undefined || p.iprobe === undefined) throw new Error("this comm() has no probe");
  return reply(wait ? await p.probe(source, tag) : await p.iprobe(source, tag));
}
