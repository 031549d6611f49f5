// What a driver and a runner say about commands (`cluster.exec`, command graphs): the tools a
// runner offers, the names files travel under, and the one argument and result of the
// built-in exec call. No message of its own: an action is an ordinary call of a generated
// entry module (driver/builds/exec-entry.ts), files move as objects named by their hash
// (Put, Fetch), and tools ride in the handshake's runner info.

/** A tool a runner offers: `go` (its GOVERSION), `gcc`/`cc`/`clang` (the binary's hash and `--version`). */
export interface ToolInfo {
  name: string;
  /** `go1.19.8`; for a C compiler, the version `-dumpversion` prints (`12`, `14.0.6`). */
  version: string;
  /** SHA-256 of the resolved binary (hex). */
  hash: string;
  /** The first line of `--version` (or `go version`): for people. */
  about: string;
}

const HASH = /^[0-9a-f]{64}$/;

/**
 * The object id a file travels under: its content hash, and `x` for an executable one (a
 * hard link shares its mode, so the two live apart in a runner's file cache). Ids of this
 * shape never collide with a driver's object ids (`prefix.n`).
 */
export function fileObjectId(hash: string, executable: boolean): string {
  return `file:${hash}${executable ? ".x" : ""}`;
}

/** The hash and mode an object id names, or undefined: not a file's id. Throws on a malformed one. */
export function parseFileObjectId(id: string): { hash: string; executable: boolean } | undefined {
  if (!id.startsWith("file:")) return undefined;
  const executable = id.endsWith(".x");
  const hash = id.slice(5, executable ? -2 : undefined);
  if (!HASH.test(hash)) throw new TypeError(`malformed file id ${JSON.stringify(id.slice(0, 90))}`);
  return { hash, executable };
}

/** A tool requirement as written (`go`, `go@go1.19.8`, `gcc@12`, `gcc@<hash prefix>`). */
export function parseRequirement(req: string): { name: string; version: string | undefined } {
  const at = req.indexOf("@");
  const name = at === -1 ? req : req.slice(0, at);
  const version = at === -1 ? undefined : req.slice(at + 1);
  if (!/^[A-Za-z0-9_.+-]+$/.test(name) || version === "") throw new TypeError(`malformed tool requirement ${JSON.stringify(req)} (want name or name@version)`);
  return { name, version };
}

/** Whether `tool` meets `req`: the name, and the version if one is asked for (its exact version, or a prefix of 8+ hex digits of its hash). */
export function meets(tool: ToolInfo, req: string): boolean {
  const { name, version } = parseRequirement(req);
  if (tool.name !== name) return false;
  if (version === undefined) return true;
  return version === tool.version || (version.length >= 8 && /^[0-9a-f]+$/.test(version) && tool.hash.startsWith(version));
}

/** How a tool shows in messages: `gcc@12 (3f2a9c1e)`. */
export const describeTool = (t: ToolInfo): string => `${t.name}@${t.version} (${t.hash.slice(0, 8)})`;

/** A file an action reads: where in the sandbox, which content, and runners that hold it (empty: this one should, or it came inline). */
export interface ExecInput {
  path: string;
  hash: string;
  executable: boolean;
  /** Runners (host:port) holding it, nearest first: the runner fetches it from the first that answers. Empty: only the driver has it. */
  holders: string[];
  /**
   * The file itself, sent with the action: a small file only the driver has (an importcfg, a
   * source) that this runner is not known to hold. Saves the round trip of `missing`.
   */
  bytes?: Uint8Array;
}

/** The argument of the built-in exec call. */
export interface ExecTask {
  /** The action's key (its action-cache entry): argv, env, cwd, tools, inputs and outputs hashed. */
  key: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  inputs: ExecInput[];
  outputs: string[];
  /** ms; 0: none. */
  timeout: number;
  /** The action's name, for errors (a graph action's id). */
  label: string | undefined;
  /** Go's build ID to stamp into an output once the command exits 0 (what `go tool buildid -w` does), by the runner itself. */
  buildId?: BuildIdStamp;
  /** argv's `${sandbox}` and `${tooldir:go}` are replaced on the runner (see ExecSpec.expand). */
  expand?: boolean;
  /** The command's stdout goes where its stderr goes (see ExecSpec.stdoutToStderr). */
  stdoutToStderr?: boolean;
  /**
   * Queued ahead (driver/builds/slots.ts): sent while the runner's threads were all taken.
   * The runner fetches its inputs and sets up its sandbox at once, and starts the command
   * only once the thread it came to runs no other command.
   */
  ahead?: boolean;
}

/**
 * What `expand` replaces in argv, on the runner: the sandbox's absolute path, and the
 * directory of Go's tools (its `go env GOTOOLDIR`). Both differ from runner to runner, so
 * they cannot be written into argv by the driver; the action key covers argv as written.
 */
export const SANDBOX_MARK = "${sandbox}";
export const GO_TOOLDIR_MARK = "${tooldir:go}";

/**
 * A Go build-ID stamp an action asks for: the output file (one of its outputs) and the ID its
 * tool wrote into it (compile's -buildid, link's -buildid=). The runner rewrites the ID's last
 * part with the file's content hash, byte for byte as `go tool buildid -w` does.
 */
export interface BuildIdStamp {
  path: string;
  id: string;
}

/** An output file as a runner reports it. */
export interface ExecOutput {
  path: string;
  hash: string;
  size: number;
  executable: boolean;
}

/**
 * An action-cache entry as a runner's `lookup` answers it (a batch of keys at once, before
 * anything is sent: a rebuild's probe): the outputs, all still in that runner's file cache.
 */
export interface ActionHit {
  outputs: ExecOutput[];
  stdout: string;
  stderr: string;
}

/** Milliseconds a runner spent on an action, by phase. */
export interface ExecPhases {
  /** Fetching inputs from other runners. */
  fetchMs: number;
  /** Making the sandbox (directories, hard links). */
  setupMs: number;
  /** Queued ahead: waiting, sandbox ready, for the thread's previous command to exit. */
  waitMs?: number;
  /** When the command started and exited, ms since the epoch on the runner's clock: the gaps between a thread's commands. */
  startedAt?: number;
  endedAt?: number;
  /** The command itself. */
  runMs: number;
  /** Hashing outputs into the file cache, removing the sandbox. */
  storeMs: number;
}

/** What the built-in exec call returns. */
export interface ExecAnswer {
  outputs: ExecOutput[];
  stdout: string;
  stderr: string;
  /** Found in the runner's on-disk action cache: nothing ran, nothing was fetched. */
  cached: boolean;
  phases: ExecPhases;
  /** Bytes of inputs fetched from other runners for it. */
  bytesFetched: number;
  /**
   * Set instead of running: files (ids) only the driver has that this runner lacks. The
   * driver sends them (Put) and asks again, so a runner that has them (an earlier build's
   * sources), or a hit in its action cache, costs no upload at all.
   */
  missing?: string[];
}
