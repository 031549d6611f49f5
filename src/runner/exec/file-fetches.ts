import { BroadcastChannel, threadId } from "node:worker_threads";
import { ObjectLostError } from "../../errors.ts";
import { decodeValue } from "../../protocol/codec.ts";
import { fileObjectId } from "../../protocol/exec-wire.ts";
import type { FileCache } from "./file-cache.ts";

// Inputs a runner lacks are fetched by its main thread, which holds the connections to other
// runners (peers.ts): a worker thread asks on the runner's `<channel>:files` BroadcastChannel,
// the main thread fetches each file from a runner holding it (Fetch of its file id, served
// from that runner's file cache), writes it into the shared file cache and answers on a
// channel named for the request. Concurrent actions wanting one file share one fetch.

export const filesChannelName = (threads: string): string => `${threads}:files`;

/** A file wanted: [hash, executable, runners holding it]. */
export type WantedFile = [hash: string, executable: boolean, holders: string[]];

interface FetchRequest { files: WantedFile[]; reply: string }
type FetchAnswer = { bytes: number } | { lost: string; reason: string } | { error: string };

/** Fetches a file id from a runner: the segments of its encoded bytes (Peers.fetch). */
export type FetchFrom = (holder: string, objectId: string) => Promise<Uint8Array[]>;

/** The runner's main thread: fetches files its threads lack. */
export class FileFetches {
  private readonly channel: BroadcastChannel;
  private readonly pending = new Map<string, Promise<number>>();
  /** Files fetched from other runners, and their bytes. */
  fetched = 0;
  bytes = 0;

  constructor(threadsChannel: string, private readonly cache: FileCache, private readonly fetchFrom: FetchFrom) {
    this.channel = new BroadcastChannel(filesChannelName(threadsChannel));
    this.channel.unref();
    this.channel.onmessage = (ev: unknown) => this.serve((ev as { data: FetchRequest }).data);
  }

  /** Makes sure the cache holds the file; the bytes fetched for it (0: it was there). */
  obtain([hash, executable, holders]: WantedFile): Promise<number> {
    if (this.cache.has(hash, executable)) return Promise.resolve(0);
    const id = fileObjectId(hash, executable);
    let p = this.pending.get(id);
    if (p === undefined) {
      p = this.fetchAny(id, hash, executable, holders).finally(() => this.pending.delete(id));
      this.pending.set(id, p);
    }
    return p;
  }

  private async fetchAny(id: string, hash: string, executable: boolean, holders: string[]): Promise<number> {
    const reasons: string[] = [];
    for (const holder of holders) {
      try {
        const segments = await this.fetchFrom(holder, id);
        const bytes = decodeValue(segments[0]!, segments.slice(1));
        if (!(bytes instanceof Uint8Array)) throw new Error("the holder sent something other than bytes");
        await this.cache.write(hash, executable, bytes);
        this.fetched++;
        this.bytes += bytes.byteLength;
        return bytes.byteLength;
      } catch (err) {
        reasons.push(`${holder}: ${(err as Error).message}`);
      }
    }
    throw new ObjectLostError(id, holders.length === 0 ? "no runner holds it" : `no holder could send it (${reasons.join("; ")})`);
  }

  private serve(req: FetchRequest): void {
    const answer = (a: FetchAnswer): void => {
      const reply = new BroadcastChannel(req.reply);
      reply.postMessage(a);
      reply.close();
    };
    Promise.all(req.files.map((f) => this.obtain(f))).then(
      (sizes) => answer({ bytes: sizes.reduce((a, b) => a + b, 0) }),
      (err: unknown) => answer(err instanceof ObjectLostError ? { lost: err.objectId, reason: err.message } : { error: (err as Error).message }),
    );
  }

  close(): void {
    this.channel.close();
  }
}

let requests = 0;

/** A worker thread's side: asks the main thread for the files the cache lacks; the bytes fetched. */
export function fetchFiles(threadsChannel: string | undefined, cache: FileCache, wanted: WantedFile[]): Promise<number> {
  const missing = wanted.filter(([hash, executable]) => !cache.has(hash, executable));
  if (missing.length === 0) return Promise.resolve(0);
  if (threadsChannel === undefined) {
    const [hash, executable] = missing[0]!;
    return Promise.reject(new ObjectLostError(fileObjectId(hash, executable), "this thread cannot fetch files (no runner main thread)"));
  }
  const reply = `${threadsChannel}:files:${threadId}:${++requests}`;
  const answers = new BroadcastChannel(reply);
  return new Promise<number>((resolve, reject) => {
    answers.onmessage = (ev: unknown) => {
      answers.close();
      const a = (ev as { data: FetchAnswer }).data;
      if ("bytes" in a) resolve(a.bytes);
      else if ("lost" in a) {
        const e = new ObjectLostError(a.lost, "");
        e.message = a.reason;
        reject(e);
      } else reject(new Error(a.error));
    };
    const ask = new BroadcastChannel(filesChannelName(threadsChannel));
    ask.postMessage({ files: missing, reply } satisfies FetchRequest);
    ask.close();
  });
}
