import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { CommandError, SpawnHelperError, TimeoutError } from "../../errors.ts";
import { Collected, type CommandRun } from "./command-output.ts";

// A small long-lived process that starts a runner thread's commands, so the runner never
// forks itself. Forking copies the page tables of the whole runner process (~110 MB of
// Node heaps and code): measured with perf, 1.7 ms of the worker thread's CPU per command
// (a third of the runner's own CPU for small commands), against ~0.1 ms from a process of a
// few MB. The helper is Perl (perl-base is part of every Debian and Ubuntu system and of the
// node:*-slim images, and its fork/exec/select are the system calls themselves); where there
// is no perl, commands are spawned by the runner as before (run-command.ts).
//
// One command at a time per helper. The runner writes a job (length-prefixed: cwd, argv's
// length (with an `m` after it: the command's stdout goes to its stderr), argv and
// environment, NUL-separated; none of them can hold a NUL); the helper forks, the child makes
// a session of its own (so a timeout kills everything it started), reads /dev/null, changes to
// the sandbox and execs; the helper relays the child's stdout and stderr and, once both are
// closed and the child reaped, kills what is left of its session's process group and sends
// its status. Frames back: a tag byte, a 4-byte length, the data.
//
// The helper also watches its stdin while a command runs: the runner never writes a job then
// (one at a time), so what can come is its end, when the runner exits or is killed (SIGKILL
// gives it no chance to kill anything). The helper then kills the command's process group and
// exits; before, a silent command outlived its runner for good (a test's blocking command,
// orphaned by killing its runner, was still polling a day later).
//
// Nothing a command started outlives it: its sandbox is emptied and handed to the next action
// as soon as it ends, and a child left running there (`cmd &` with its output elsewhere)
// would write into, or remove folders of, the next action's sandbox. The group is killed
// just after the reap; its pid is not handed out again that soon (pids are allocated in turn,
// up to pid_max). A process that made a session of its own escapes it: a sandbox is not a
// container.

const SCRIPT = String.raw`
use strict; use POSIX ();
$SIG{PIPE} = 'IGNORE'; binmode STDIN; binmode STDOUT;
my $in = '';
sub readn { my ($n) = @_; my $b = substr($in, 0, $n, ''); while (length($b) < $n) { my $r = sysread(STDIN, $b, $n - length($b), length($b)); return undef if !$r; } return $b; }
sub frame { my $m = pack('aN', $_[0], length $_[1]) . $_[1]; my $o = 0; while ($o < length $m) { my $w = syswrite(STDOUT, $m, length($m) - $o, $o); if (!defined $w) { next if $!{EINTR}; exit 1; } $o += $w; } }
while (defined(my $h = readn(4))) {
  my $job = readn(unpack('N', $h)); last unless defined $job;
  my ($cwd, $argc, @f) = split(/\0/, $job, -1);
  my $merge = $argc =~ s/m$//;
  my @argv = splice(@f, 0, $argc);
  pipe(my $or, my $ow) or do { frame('X', "pipe: $!"); next; };
  pipe(my $er, my $ew) or do { frame('X', "pipe: $!"); next; };
  my $pid = fork();
  if (!defined $pid) { frame('X', "fork: $!"); next; }
  if ($pid == 0) {
    POSIX::setsid();
    open(STDIN, '<', '/dev/null'); open(STDOUT, '>&', $merge ? $ew : $ow); open(STDERR, '>&', $ew);
    close $or; close $er; close $ow; close $ew;
    chdir($cwd) or do { print STDERR "$cwd: $!\n"; POSIX::_exit(126); };
    %ENV = map { split(/=/, $_, 2) } @f;
    { no warnings; exec { $argv[0] } @argv; }
    my $missing = $!{ENOENT};
    print STDERR $missing ? "$argv[0]: command not found\n" : "$argv[0]: $!\n";
    POSIX::_exit($missing ? 127 : 126);
  }
  close $ow; close $ew;
  frame('P', $pid);
  my %open = (fileno($or) => [$or, 'O'], fileno($er) => [$er, 'E']);
  while (%open) {
    my $rin = ''; vec($rin, $_, 1) = 1 for keys %open; vec($rin, 0, 1) = 1;
    my $n = select(my $rout = $rin, undef, undef, undef);
    next if $n < 0;
    if (vec($rout, 0, 1)) {
      my $r = sysread(STDIN, $in, 65536, length $in);
      if (defined $r && $r == 0) { kill 'KILL', -$pid; exit 0; }
    }
    for my $fd (keys %open) {
      next unless vec($rout, $fd, 1);
      my $r = sysread($open{$fd}[0], my $buf, 65536);
      next if !defined $r && $!{EINTR};
      if (!$r) { close $open{$fd}[0]; delete $open{$fd}; } else { frame($open{$fd}[1], $buf); }
    }
  }
  waitpid($pid, 0);
  my $st = $?;
  kill 'KILL', -$pid;
  frame('S', pack('NN', $st >> 8, $st & 127));
}
`;

let perl: string | null | undefined;

/** The perl the helpers run with (found once per thread), or null: none, spawn directly. */
export function helperPerl(): string | null {
  if (perl === undefined) {
    const found = spawnSync("perl", ["-MPOSIX", "-e", "print $^X"], { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" } });
    perl = found.status === 0 && found.stdout.startsWith("/") ? found.stdout : null;
  }
  return perl;
}

interface Pending {
  argv: string[];
  out: Collected;
  err: Collected;
  pid: number | undefined;
  timedOut: boolean;
  timer: NodeJS.Timeout | undefined;
  label: string;
  timeoutMs: number;
  resolve: (r: CommandRun) => void;
  reject: (e: Error) => void;
}

export class SpawnHelper {
  private readonly child: ChildProcessWithoutNullStreams;
  private buffered: Buffer = Buffer.alloc(0);
  private pending: Pending | undefined;
  private helperErr = "";
  /** The helper exited (or could not start): it takes no more commands. */
  dead = false;

  constructor(perlPath: string) {
    this.child = spawn(perlPath, ["-e", SCRIPT], { stdio: ["pipe", "pipe", "pipe"], env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" } });
    this.child.stdout.on("data", (c: Buffer) => this.received(c));
    this.child.stderr.on("data", (c: Buffer) => {
      this.helperErr = (this.helperErr + c.toString("utf8")).slice(-2000);
    });
    this.child.on("error", (e) => this.died(e.message));
    // A write to a helper that just died fails with EPIPE; its exit says why, and fails the command.
    this.child.stdin.on("error", () => undefined);
    this.child.on("exit", (code, signal) => this.died(signal !== null ? `killed by ${signal}` : `exited with status ${code}`));
    this.idle();
  }

  get busy(): boolean {
    return this.pending !== undefined;
  }

  /** The helper's pid (tests). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  run(argv: string[], cwd: string, env: Record<string, string>, timeoutMs: number, label: string, stdoutToStderr = false): Promise<CommandRun> {
    if (this.dead || this.pending !== undefined) return Promise.reject(new SpawnHelperError(label, this.dead ? "the helper is gone" : "the helper is busy"));
    const fields = [cwd, `${argv.length}${stdoutToStderr ? "m" : ""}`, ...argv, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)];
    if (fields.some((f) => f.includes("\0"))) return Promise.reject(new TypeError(`${label}: argv, env and cwd may not hold NUL`));
    const job = Buffer.from(fields.join("\0"), "utf8");
    const head = Buffer.alloc(4);
    head.writeUInt32BE(job.length);
    return new Promise<CommandRun>((resolve, reject) => {
      const p: Pending = { argv, out: new Collected(), err: new Collected(), pid: undefined, timedOut: false, timer: undefined, label, timeoutMs, resolve, reject };
      this.pending = p;
      this.busyNow();
      if (timeoutMs > 0) p.timer = setTimeout(() => {
        p.timedOut = true;
        if (p.pid !== undefined) kill(p.pid);
      }, timeoutMs);
      this.child.stdin.write(Buffer.concat([head, job]));
    });
  }

  private received(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 5) {
      const len = this.buffered.readUInt32BE(1);
      if (this.buffered.length < 5 + len) return;
      const tag = String.fromCharCode(this.buffered[0]!);
      const data = this.buffered.subarray(5, 5 + len);
      this.buffered = this.buffered.subarray(5 + len);
      this.frame(tag, data);
    }
  }

  private frame(tag: string, data: Buffer): void {
    const p = this.pending;
    if (p === undefined) return;
    if (tag === "P") {
      p.pid = Number(data.toString("latin1"));
      if (p.timedOut) kill(p.pid);
    } else if (tag === "O") {
      p.out.add(Buffer.from(data));
    } else if (tag === "E") {
      p.err.add(Buffer.from(data));
    } else if (tag === "S" || tag === "X") {
      this.finish();
      if (tag === "X") return p.reject(new CommandError(p.argv, 126, `${p.argv[0]}: ${data.toString("utf8")}\n`));
      if (p.timedOut) return p.reject(new TimeoutError(p.label, p.timeoutMs));
      const code = data.readUInt32BE(0);
      const signal = data.readUInt32BE(4);
      p.resolve({ exitCode: signal !== 0 ? 128 + signal : code, stdout: p.out.text(), stderr: p.err.text() });
    }
  }

  private finish(): void {
    if (this.pending?.timer !== undefined) clearTimeout(this.pending.timer);
    this.pending = undefined;
    this.idle();
  }

  private died(why: string): void {
    if (this.dead) return;
    this.dead = true;
    const p = this.pending;
    if (p === undefined) return;
    // Its command, if it started, goes with it: the helper's session is not the command's.
    if (p.pid !== undefined) kill(p.pid);
    this.finish();
    p.reject(new SpawnHelperError(p.label, `${why}${this.helperErr === "" ? "" : `: ${this.helperErr.trim()}`}`));
  }

  // Idle, the helper keeps no thread alive; running a command, it does.
  private idle(): void {
    this.child.unref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) (s as unknown as { unref?: () => void }).unref?.();
  }

  private busyNow(): void {
    this.child.ref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) (s as unknown as { ref?: () => void }).ref?.();
  }

  close(): void {
    this.child.stdin.end();
  }
}

function kill(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** A thread's helpers: one per command running at once (one, on a runner thread), restarted when one dies. */
export class SpawnHelpers {
  private readonly helpers: SpawnHelper[] = [];

  constructor(private readonly perlPath: string) {}

  run(argv: string[], cwd: string, env: Record<string, string>, timeoutMs: number, label: string, stdoutToStderr = false): Promise<CommandRun> {
    for (let i = this.helpers.length - 1; i >= 0; i--) if (this.helpers[i]!.dead) this.helpers.splice(i, 1);
    let h = this.helpers.find((x) => !x.busy);
    if (h === undefined) this.helpers.push((h = new SpawnHelper(this.perlPath)));
    return h.run(argv, cwd, env, timeoutMs, label, stdoutToStderr);
  }

  /** The helpers' pids (tests). */
  pids(): number[] {
    return this.helpers.filter((h) => !h.dead).flatMap((h) => (h.pid === undefined ? [] : [h.pid]));
  }
}
