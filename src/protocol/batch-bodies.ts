/**
 * What the batch frames (T.Calls, T.Results, T.GraphCalls) share: their entries' bodies copied
 * side by side into one buffer, reused from batch to batch (the outbox copies a batch as it is
 * sent, so the next batch may overwrite it), and their export names, each named once.
 */
export class BatchBodies {
  private bytes = new Uint8Array(4096);
  private length = 0;
  private exportNames: string[] | undefined;

  /** Bytes of bodies so far. */
  get used(): number {
    return this.length;
  }

  /** Copies `body` after the others. */
  append(body: Uint8Array): void {
    const n = body.byteLength;
    if (this.length + n > this.bytes.byteLength) {
      const grown = new Uint8Array(Math.max(this.bytes.byteLength * 2, this.length + n));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    this.bytes.set(body, this.length);
    this.length += n;
  }

  /** The index of `exportName` among this batch's names (added if new). */
  nameIndex(exportName: string): number {
    const names = (this.exportNames ??= []);
    const k = names.indexOf(exportName);
    return k < 0 ? names.push(exportName) - 1 : k;
  }

  /** The names so far. */
  names(): string[] {
    return this.exportNames ?? [];
  }

  /** The bodies so far, a view valid until the next append after clear(). */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  clear(): void {
    this.length = 0;
    this.exportNames = undefined;
  }
}
