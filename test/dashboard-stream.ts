import type { Picture, SpanRow } from "../src/driver/dashboard/view-model.ts";

// Reading a dashboard's event stream the way its page does: pictures, each with the spans
// since the one before.

export interface Seen {
  picture: Picture;
  /** Every span of every picture so far. */
  spans: SpanRow[];
}

/**
 * Reads /api/events until `done` holds for what was seen; fails after `timeoutMs` with the
 * last picture (so a failure says what the page showed).
 */
export async function awaitPicture(base: string, done: (s: Seen) => boolean, headers: Record<string, string> = {}, timeoutMs = 20_000): Promise<Seen> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  let last: Seen | undefined;
  try {
    const res = await fetch(new URL("api/events", base), { headers, signal: ac.signal });
    if (res.status !== 200) throw new Error(`GET /api/events: ${res.status} ${await res.text()}`);
    if (!/^text\/event-stream/.test(res.headers.get("content-type") ?? "")) throw new Error(`not an event stream: ${res.headers.get("content-type")}`);
    const decoder = new TextDecoder();
    let buffer = "";
    const spans: SpanRow[] = [];
    for await (const chunk of res.body! as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n\n")) !== -1) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = /^data: (.*)$/m.exec(event)?.[1];
        if (!/^event: picture$/m.test(event) || data === undefined) continue;
        const picture = JSON.parse(data) as Picture;
        spans.push(...picture.spans);
        last = { picture, spans };
        if (done(last)) return last;
      }
    }
    throw new Error("the event stream ended");
  } catch (err) {
    if (ac.signal.aborted) throw new Error(`no picture as wanted within ${timeoutMs} ms; the last: ${JSON.stringify(last === undefined ? null : { ...last.picture, spans: last.spans.length })}`);
    throw err;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}
