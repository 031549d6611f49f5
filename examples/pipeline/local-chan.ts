// An in-process channel with Go's semantics (unbuffered or buffered, FIFO, close), for
// the single-process baseline: the pipeline's stages run on it unchanged, as async
// functions of this one thread. It has the methods of Strand's `Chan` that the stages use.
import type { RecvResult } from "../../src/runtime.ts";

interface BlockedSender<T> {
  value: T;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class LocalChan<T> {
  private readonly buffer: T[] = [];
  private readonly receivers: ((r: RecvResult<T>) => void)[] = [];
  private readonly senders: BlockedSender<T>[] = [];
  private closed = false;

  constructor(readonly capacity = 0) {}

  send(value: T): Promise<void> {
    if (this.closed) return Promise.reject(new Error("send on a closed channel"));
    const r = this.receivers.shift();
    if (r !== undefined) {
      r({ value, done: false });
      return Promise.resolve();
    }
    if (this.buffer.length < this.capacity) {
      this.buffer.push(value);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.senders.push({ value, resolve, reject }));
  }

  recv(): Promise<RecvResult<T>> {
    if (this.buffer.length > 0) {
      const value = this.buffer.shift()!;
      const s = this.senders.shift(); // a blocked sender's value takes the freed slot
      if (s !== undefined) {
        this.buffer.push(s.value);
        s.resolve();
      }
      return Promise.resolve({ value, done: false });
    }
    const s = this.senders.shift(); // unbuffered: take it straight from a waiting sender
    if (s !== undefined) {
      s.resolve();
      return Promise.resolve({ value: s.value, done: false });
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.receivers.push(resolve));
  }

  close(): Promise<void> {
    if (this.closed) return Promise.reject(new Error("close of a closed channel"));
    this.closed = true;
    for (const r of this.receivers.splice(0)) r({ value: undefined, done: true });
    for (const s of this.senders.splice(0)) s.reject(new Error("send on a closed channel"));
    return Promise.resolve();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) {
      const r = await this.recv();
      if (r.done) return;
      yield r.value;
    }
  }
}
