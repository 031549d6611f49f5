// What a command printed, as an action's result keeps it: the head of each stream, and the
// tail of a long one (where a compiler's errors are).

/** What a command may print before the rest is cut (stdout and stderr each): the head is kept, and the tail of stderr. */
const OUTPUT_MAX = 4 * 1024 * 1024;

export interface CommandRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Bytes kept of a stream: the head up to OUTPUT_MAX, and (for stderr) the last 8 KiB, where errors are. */
export class Collected {
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tail = Buffer.alloc(0);
  private cut = 0;

  add(chunk: Buffer): void {
    if (this.headBytes < OUTPUT_MAX) {
      const take = chunk.subarray(0, OUTPUT_MAX - this.headBytes);
      this.head.push(take);
      this.headBytes += take.length;
      if (take.length === chunk.length) return;
      chunk = chunk.subarray(take.length);
    }
    this.cut += chunk.length;
    this.tail = Buffer.concat([this.tail, chunk]).subarray(-8192);
  }

  text(): string {
    const head = Buffer.concat(this.head).toString("utf8");
    return this.cut === 0 ? head : `${head}\n[... ${this.cut} bytes cut ...]\n${this.tail.toString("utf8")}`;
  }
}
