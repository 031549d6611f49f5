/**
 * Ids of channels that can never change again (closed and drained), kept so that late
 * operations on them still get Go's answers. A driver may make millions of channels over
 * its life, so they are kept by their sequence number as a watermark plus the few retired
 * out of order: memory follows the channels still open, not all channels ever made.
 * Ids not of the form `<prefix>.c<n>` (none today) fall back to a plain set.
 */
export class RetiredIds {
  /** Every number in 1..low is retired. */
  private low = 0;
  private readonly above = new Set<number>();
  private readonly others = new Set<string>();

  constructor(private readonly prefix: string) {}

  add(id: string): void {
    const n = this.numberOf(id);
    if (n === undefined) {
      this.others.add(id);
      return;
    }
    if (n <= this.low) return;
    this.above.add(n);
    while (this.above.delete(this.low + 1)) this.low++;
  }

  has(id: string): boolean {
    const n = this.numberOf(id);
    if (n === undefined) return this.others.has(id);
    return n <= this.low || this.above.has(n);
  }

  /** How many ids are held one by one (for tests: the watermark holds the rest). */
  get held(): number {
    return this.above.size + this.others.size;
  }

  private numberOf(id: string): number | undefined {
    if (!id.startsWith(this.prefix) || id.length <= this.prefix.length) return undefined;
    const digits = id.slice(this.prefix.length);
    if (!/^[1-9]\d{0,14}$/.test(digits)) return undefined;
    return Number(digits);
  }
}
