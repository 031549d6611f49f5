// How much queued work to keep on a runner: enough calls that its threads never wait
// for a round trip, few enough that slow calls are not stuck behind each other.
const TARGET_QUEUE_MICROS = 2000;
const MIN_PER_THREAD = 2;
const MAX_PER_THREAD = 1024;

/** How many calls a runner may hold at once, adapted to how long its calls run. */
export class CallWindow {
  private ewmaExecMicros = 1000;
  size: number;

  constructor(private readonly threads: number) {
    this.size = threads * MIN_PER_THREAD;
  }

  /** Recent mean run time of a call there, in microseconds. */
  get execMicros(): number {
    return this.ewmaExecMicros;
  }

  /** A call ran for `execMicros` on the runner. */
  observe(execMicros: number): void {
    this.ewmaExecMicros = 0.9 * this.ewmaExecMicros + 0.1 * Math.max(1, execMicros);
    const perThread = Math.ceil(TARGET_QUEUE_MICROS / this.ewmaExecMicros);
    this.size = this.threads * Math.min(MAX_PER_THREAD, Math.max(MIN_PER_THREAD, perThread));
  }
}
