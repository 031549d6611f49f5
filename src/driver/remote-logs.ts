// What remote functions print, on the driver: each line as the runner sent it (T.Log), and
// where it goes. By default, to this process's stdout or stderr (the stream the function
// wrote to), each line prefixed with the function and the runner, as Ray prints its
// workers' output: `(train runner=10.0.0.5:7700 pid=4242) epoch 3`. Not through the
// driver's logger: that one is for Strand's own diagnostics (JSON, warn and up by default),
// and this is the program's output. Pass `logs: (line) => ...` to send it elsewhere.

/** A line a remote function printed. */
export interface RemoteLogLine {
  /** The function's export name. */
  fn: string;
  /** The runner it ran on (host:port, as the cluster names it) and its process id. */
  runner: string;
  pid: number;
  stream: "stdout" | "stderr";
  /** The line, without its newline. */
  text: string;
}

/** Where remote lines go instead of this process's stdout and stderr. */
export type RemoteLogSink = (line: RemoteLogLine) => void;

/**
 * `logs` in connect(), local() and Cluster.create(): true (the default) prints remote
 * output here, false leaves it on the runners (their own stdout), a function takes each line.
 * The default also yields to STRAND_REMOTE_LOGS=0 (`strand run --no-remote-logs`).
 */
export type LogsOption = boolean | RemoteLogSink;

/** Lines of one T.Log message, as a link hands them on. */
export type RemoteLines = (runner: { address: string; pid: number }, fn: string, stream: number, lines: readonly string[]) => void;

/** Unwritten bytes a stream may hold before remote lines for it are dropped (a pipe nobody reads). */
const BACKLOG_MAX = 4 * 1024 * 1024;

/** What the links do with remote lines, or undefined when the driver asks for none. */
export function remoteLines(option: LogsOption | undefined, env = process.env): RemoteLines | undefined {
  const on = option ?? env.STRAND_REMOTE_LOGS !== "0";
  if (on === false) return undefined;
  if (typeof on === "function") {
    return (runner, fn, stream, lines) => {
      for (const text of lines) on({ fn, runner: runner.address, pid: runner.pid, stream: stream === 1 ? "stderr" : "stdout", text });
    };
  }
  return printer(process.stdout, process.stderr);
}

/** Prints lines to `out` and `err` with Ray's prefix; drops (and counts) them while a stream is backed up. */
export function printer(out: NodeJS.WritableStream & { writableLength?: number }, err: NodeJS.WritableStream & { writableLength?: number }): RemoteLines {
  const dropped = [0, 0];
  return (runner, fn, stream, lines) => {
    const s = stream === 1 ? 1 : 0;
    const to = s === 1 ? err : out;
    if ((to.writableLength ?? 0) > BACKLOG_MAX) {
      dropped[s]! += lines.length;
      return;
    }
    const prefix = `(${fn} runner=${runner.address} pid=${runner.pid}) `;
    let text = "";
    if (dropped[s]! > 0) {
      text = `${prefix}(… ${dropped[s]} lines dropped: this process's ${s === 1 ? "stderr" : "stdout"} was backed up)\n`;
      dropped[s] = 0;
    }
    for (const line of lines) text += `${prefix}${line}\n`;
    to.write(text);
  };
}
