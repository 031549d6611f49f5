import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { posix, resolve } from "node:path";
import { promisify } from "node:util";
import { parseBuildScript, type ScriptStep } from "./build-script.ts";
import { goEnv, planningEnv, type GoEnv } from "./go-env.ts";
import type { Graph, GraphAction, GraphInput } from "../graph.ts";
import type { PlanCache } from "./plan-cache.ts";
import { SandboxPaths } from "./sandbox-paths.ts";
import { GO_TOOLDIR_MARK, SANDBOX_MARK } from "../../../protocol/exec-wire.ts";

// A Go build, planned by the Go toolchain itself: `go build -n -a -trimpath` prints every
// command of a full build, and this turns that script into a command graph, one action per
// compile, asm (symabis and objects), pack and link. The small files Go writes between them
// (importcfg, embedcfg, an empty go_asm.h) become `bytes` inputs with their paths moved into
// the sandbox; sources are `file` inputs; archives flow as one action's output into the next.
// `buildid -w` stamps a file in place right after the command that made it: the runner does
// that once the action's command exits (ExecSpec.buildId), with no process of its own.

const run = promisify(execFile);

export type GoStepKind = "compile" | "symabis" | "asm" | "pack" | "link";

export interface GoBuildRequest {
  /** Where `go build` runs (the main module). */
  dir: string;
  packages: string[];
  /** The binary to write (go build's -o). */
  output?: string;
  /** go build's -p: only changes the -c flag Go gives the compiler. */
  parallelism?: number;
  /** The go command (default: go on PATH). */
  go?: string;
}

export interface GoPlan {
  graph: Graph;
  env: GoEnv;
  /** What each action is, by id. */
  steps: Record<string, { kind: GoStepKind; package: string }>;
  /** The linked program, when the build makes one: which output of which action, and where Go would put it. */
  binary?: { action: string; output: string; target: string };
  /** The script came from the plan cache, not from running go build -n. */
  fromCache: boolean;
  /** Each package's compiled archive: the output of the last action that writes it. */
  archives: Record<string, { action: string; output: string }>;
  paths: SandboxPaths;
}

/** Plans `go build` of `request` with the Go toolchain: runs `go build -n` and reads its script (or reuses the script `cache` kept, if nothing changed). */
export async function planGoBuild(request: GoBuildRequest, options: { cache?: PlanCache } = {}): Promise<GoPlan> {
  const dir = resolve(request.dir);
  const go = request.go ?? "go";
  const env = await goEnv(dir, go);
  const key = { ...request, dir };
  const kept = options.cache?.lookup(key, env, dir);
  if (kept !== undefined) return { ...planFromScript(kept, env, dir), fromCache: true };
  // A build cache of the planner's own, not the user's (go build -n still writes file hashes
  // there). -a makes -n print every command whatever that cache holds (checked: the script of a
  // warm one equals a fresh one's), so it is kept between plans rather than made and removed
  // each time: removing the ~750 files a plan leaves cost up to 0.9 s of the driver's CPU
  // (rmSync, measured on a loaded machine). Strand's action cache does the incremental part.
  const cache = planningGoCache();
  const args = ["build", "-n", "-a", "-trimpath", `-p=${request.parallelism ?? 2}`];
  if (request.output !== undefined) args.push("-o", resolve(dir, request.output));
  args.push(...request.packages);
  const { stderr } = await run(go, args, { cwd: dir, env: planningEnv({ GOCACHE: cache }), maxBuffer: 256 << 20 }).catch((e: { stderr?: string; message: string }) => {
    throw new Error(`go build -n failed: ${(e.stderr ?? e.message).trim()}`);
  });
  const plan = planFromScript(stderr, env, dir);
  options.cache?.store(key, env, stderr, dir, plan.graph.actions.flatMap((a) => Object.values(a.inputs).flatMap((i) => ("file" in i ? [i.file] : []))));
  return plan;
}

/** The planner's GOCACHE: $XDG_CACHE_HOME/strand/go-plan-cache (or ~/.cache/strand/...). */
function planningGoCache(): string {
  const dir = posix.join(process.env.XDG_CACHE_HOME || posix.join(homedir(), ".cache"), "strand", "go-plan-cache");
  mkdirSync(dir, { recursive: true });
  return dir;
}

interface WorkFile {
  input: GraphInput;
  /** Paths (absolute or $WORK) the file names, which whoever reads it also needs. */
  refs: string[];
}

/** The graph of the `go build -n` script `script`, which ran in `dir` with toolchain `env`. */
export function planFromScript(script: string, env: GoEnv, dir: string): GoPlan {
  const steps = parseBuildScript(script);
  const paths = new SandboxPaths(env.GOROOT);
  for (const s of steps) {
    if (s.kind !== "tool") continue;
    const i = s.argv.indexOf("-trimpath");
    if (i >= 0 && s.argv[i + 1] !== undefined) paths.learnTrimpath(s.argv[i + 1]!);
  }
  return new Planner(env, dir, paths).plan(steps);
}

/** Flags that take the next word as their value, per tool; the ones whose value is a path. */
const valueFlags: Record<string, { values: Set<string>; paths: Set<string> }> = {
  compile: {
    values: new Set(["-o", "-trimpath", "-p", "-buildid", "-goversion", "-importcfg", "-symabis", "-embedcfg", "-asmhdr", "-D", "-I", "-installsuffix", "-linkobj", "-lang", "-c", "-race", "-coverageinfo"]),
    paths: new Set(["-o", "-importcfg", "-symabis", "-embedcfg", "-asmhdr", "-linkobj"]),
  },
  asm: { values: new Set(["-o", "-p", "-trimpath", "-I", "-D"]), paths: new Set(["-o", "-I"]) },
  link: { values: new Set(["-o", "-importcfg", "-X", "-installsuffix", "-extld", "-extldflags", "-linkmode", "-buildmode", "-buildid", "-tmpdir", "-L"]), paths: new Set(["-o", "-importcfg"]) },
};

class Planner {
  private cwd: string;
  private pkg = "";
  /** What each $WORK file currently holds, by sandbox path. */
  private readonly work = new Map<string, WorkFile>();
  private readonly actions: GraphAction[] = [];
  private readonly kinds: GoPlan["steps"] = {};
  private binary: GoPlan["binary"];
  private readonly archives: GoPlan["archives"] = {};
  private readonly toolEnv: Record<string, string>;
  /** The build ID a tool wrote into each $WORK file (compile's -buildid, link's -buildid=), by sandbox path: what buildid -w rewrites. */
  private readonly buildIds = new Map<string, string>();

  constructor(private readonly env: GoEnv, dir: string, private readonly paths: SandboxPaths) {
    this.cwd = dir;
    // The tools read their target from the environment (cmd/internal/buildcfg); say it
    // outright so a runner's own GOARCH or GOAMD64 cannot change what gets built.
    this.toolEnv = Object.fromEntries(Object.entries({ GOOS: env.GOOS, GOARCH: env.GOARCH, GOAMD64: env.GOAMD64, GOEXPERIMENT: env.GOEXPERIMENT }).filter(([, v]) => v !== ""));
  }

  plan(steps: ScriptStep[]): GoPlan {
    for (const s of steps) {
      switch (s.kind) {
        case "package": this.pkg = s.importPath; break;
        case "mkdir": break;
        case "cd": this.cwd = this.abs(s.dir); break;
        case "write": this.write(this.abs(s.path), s.text); break;
        case "cp": this.work.set(this.paths.map(this.abs(s.to)), { input: this.source(this.abs(s.from)), refs: [] }); break;
        case "mv": this.move(this.abs(s.from), this.abs(s.to)); break;
        case "tool": this.tool(s.tool, s.argv, s.env); break;
      }
    }
    return { graph: { actions: this.actions }, env: this.env, steps: this.kinds, binary: this.binary, fromCache: false, archives: this.archives, paths: this.paths };
  }

  /** `p` made absolute against the script's current folder ($WORK counts as absolute). */
  private abs(p: string): string {
    if (p.startsWith("$WORK") || p.startsWith("/")) return p.replace(/\/+$/, "") || "/";
    return posix.join(this.cwd, p).replace(/\/+$/, "");
  }

  /** Where the file at `abs` comes from: a $WORK file as it is now, or a file on the driver. */
  private source(abs: string): GraphInput {
    const at = this.paths.map(abs);
    const w = this.work.get(at);
    if (w !== undefined) return w.input;
    if (abs.startsWith("$WORK")) throw new Error(`go build -n reads ${abs} before anything writes it`);
    return { file: abs };
  }

  private write(abs: string, text: string): void {
    const name = posix.basename(abs);
    const refs: string[] = [];
    let content = text;
    if (name === "importcfg" || name === "importcfg.link") {
      // packagefile lines name archives by absolute ($WORK) path: move them into the sandbox.
      content = text.split("\n").map((line) => {
        const m = /^packagefile ([^=]+)=(.*)$/.exec(line);
        if (m === null) return line;
        const file = this.abs(m[2]!);
        refs.push(file);
        return `packagefile ${m[1]}=${this.paths.map(file)}`;
      }).join("\n");
    } else if (name === "embedcfg") {
      const cfg = JSON.parse(text) as { Patterns: unknown; Files: Record<string, string> };
      for (const [k, v] of Object.entries(cfg.Files)) {
        refs.push(v);
        cfg.Files[k] = this.paths.map(v);
      }
      content = JSON.stringify(cfg, null, "\t");
    } else if (name !== "go_asm.h") {
      throw new Error(`go build -n writes ${name}, which Strand does not know how to move`);
    }
    this.work.set(this.paths.map(abs), { input: { bytes: Buffer.from(content, "utf8").toString("base64") }, refs });
  }

  private move(from: string, to: string): void {
    const w = this.work.get(this.paths.map(from));
    if (w === undefined || !("action" in w.input)) throw new Error(`go build -n moves ${from}, which no action made`);
    this.binary = { action: w.input.action, output: w.input.output, target: to };
  }

  private tool(tool: string, argv: string[], env: Record<string, string>): void {
    if (tool === "buildid") return this.stamp(argv);
    const flags = valueFlags[tool];
    if (tool === "pack") return this.pack(argv);
    if (flags === undefined) throw new Error(`go build -n runs ${tool}, which Strand cannot distribute`);
    // Compile and link run at the sandbox root with relative paths (so a compiler message
    // names mod/<importpath>/file.go); asm runs in its package's folder, as Go runs it, since
    // its arguments are ./file.s; its -I folders then need the sandbox root ($S).
    const inAsm = tool === "asm";
    const cwd = inAsm ? this.paths.map(this.cwd) : "";
    const inputs: Record<string, GraphInput> = {};
    const outputs: string[] = [];
    const words: Word[] = [{ tool }];
    const need = (abs: string): string => {
      const at = this.paths.map(abs);
      inputs[at] = this.source(abs);
      for (const ref of this.work.get(at)?.refs ?? []) need(ref);
      return at;
    };
    const includeDirs: string[] = [];
    const sources: string[] = [];
    let symabis = false;
    let buildId: string | undefined;
    for (let i = 1; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === "-gensymabis") symabis = true;
      if (a === "-buildid" && argv[i + 1] !== undefined) buildId = argv[i + 1];
      if (a.startsWith("-buildid=")) buildId = a.slice("-buildid=".length);
      if (a.startsWith("-") && flags.values.has(a) && i + 1 < argv.length) {
        const v = argv[++i]!;
        words.push(a);
        if (a === "-trimpath") words.push(this.trimpath(v));
        else if (!flags.paths.has(a)) words.push(v);
        else {
          const abs = this.abs(v);
          if (a === "-o" || a === "-asmhdr" || a === "-linkobj") outputs.push(this.paths.map(abs));
          else if (a === "-I") includeDirs.push(abs);
          else need(abs);
          words.push(inAsm ? { root: this.paths.map(abs) + (v.endsWith("/") ? "/" : "") } : this.paths.map(abs));
        }
      } else if (a.startsWith("-")) {
        words.push(a);
      } else {
        const abs = this.abs(a);
        sources.push(abs);
        need(abs);
        words.push(inAsm ? a : this.paths.map(abs));
      }
    }
    if (inAsm) for (const s of sources) this.includes(s, includeDirs, need, new Set());
    if (outputs.length === 0) throw new Error(`go build -n runs ${tool} with no -o: ${argv.join(" ")}`);
    const kind: GoStepKind = tool === "asm" ? (symabis ? "symabis" : "asm") : (tool as GoStepKind);
    const id = this.uniqueId(kind === "asm" ? `asm ${this.pkg} ${posix.basename(sources[0] ?? "")}` : `${kind} ${this.pkg}`);
    // The tool itself, no shell: the runner puts in its tool folder and the sandbox's path
    // (expand), makes the outputs' folders (every sandbox has its paths' folders) and sends the
    // compiler's stdout, where it prints its errors, to stderr, as go build shows both.
    const action: GraphAction = {
      id,
      argv: words.map(plain),
      env: { ...this.toolEnv, ...env },
      tools: [`go@${this.env.GOVERSION}`],
      inputs,
      outputs,
      ...(cwd !== "" ? { cwd } : {}),
      expand: true,
      stdoutToStderr: true,
    };
    this.add(action, kind);
    if (buildId !== undefined) for (const out of outputs) this.buildIds.set(out, buildId);
  }

  /**
   * `pack r archive objects...` appends to the archive the compile made. An action's inputs
   * and outputs are distinct files (and an input may be a hard link into a runner's file
   * cache), so the archive comes in beside its final name and is copied to it first.
   */
  private pack(argv: string[]): void {
    const [, op, archive, ...objects] = argv;
    if (op !== "r" || archive === undefined) throw new Error(`go build -n runs pack ${op}: Strand only knows pack r`);
    const inputs: Record<string, GraphInput> = {};
    const at = this.paths.map(this.abs(archive));
    inputs[`${at}.in`] = this.source(this.abs(archive));
    const objs = objects.map((o) => {
      const p = this.paths.map(this.abs(o));
      inputs[p] = this.source(this.abs(o));
      return p;
    });
    const words: Word[] = [{ tool: "pack" }, "r", at, ...objs];
    this.add({
      id: this.uniqueId(`pack ${this.pkg}`),
      argv: ["sh", "-c", script(this.env, inputs, [], "", words, [`${at}.in`, at])],
      env: { ...this.toolEnv },
      tools: [`go@${this.env.GOVERSION}`],
      inputs,
      outputs: [at],
    }, "pack");
  }

  /** `buildid -w file` rewrites the build ID in the file the previous action just made: it joins that action. */
  private stamp(argv: string[]): void {
    if (argv[1] !== "-w" || argv[2] === undefined) throw new Error(`go build -n runs buildid ${argv.slice(1).join(" ")}`);
    const at = this.paths.map(this.abs(argv[2]));
    const w = this.work.get(at);
    const last = this.actions[this.actions.length - 1];
    if (w === undefined || !("action" in w.input) || last === undefined || w.input.action !== last.id) throw new Error(`go build -n stamps ${argv[2]}, which the last command did not make`);
    const id = this.buildIds.get(at);
    if (id === undefined) throw new Error(`go build -n stamps ${argv[2]}, whose tool was given no -buildid`);
    last.buildId = { path: at, id };
  }

  /** Every header the assembly file `file` can #include, found as the assembler finds them. */
  private includes(file: string, dirs: string[], need: (abs: string) => string, seen: Set<string>): void {
    if (seen.has(file) || file.startsWith("$WORK") || !existsSync(file)) return;
    seen.add(file);
    const text = readFileSync(file, "latin1");
    for (const m of text.matchAll(/^[ \t]*#[ \t]*include[ \t]+["<]([^">]+)[">]/gm)) {
      const name = m[1]!;
      for (const d of [posix.dirname(file), ...dirs]) {
        const candidate = posix.join(d, name);
        const found = candidate.startsWith("$WORK") ? this.work.has(this.paths.map(candidate)) : this.paths.canMap(candidate) && existsSync(candidate);
        if (!found) continue;
        need(candidate);
        this.includes(candidate, dirs, need, seen);
        break;
      }
    }
    // A header in a $WORK -I folder (go_asm.h, asm_GOARCH.h) may be included by a header;
    // hand the assembler all of them, as the folder it reads would hold.
    for (const d of dirs) {
      if (!d.startsWith("$WORK")) continue;
      const prefix = this.paths.map(d) + "/";
      for (const at of this.work.keys()) if (at.startsWith(prefix) && at.endsWith(".h")) need(posix.join(d, at.slice(prefix.length)));
    }
  }

  private add(action: GraphAction, kind: GoStepKind): void {
    this.actions.push(action);
    this.kinds[action.id] = { kind, package: this.pkg };
    for (const out of action.outputs) {
      this.work.set(out, { input: { action: action.id, output: out }, refs: [] });
      if (out.endsWith("/_pkg_.a")) this.archives[this.pkg] = { action: action.id, output: out };
    }
  }

  private uniqueId(id: string): string {
    if (!(id in this.kinds)) return id;
    for (let n = 2; ; n++) if (!(`${id} #${n}` in this.kinds)) return `${id} #${n}`;
  }

  /** A -trimpath value with its folders moved into the sandbox, which the tool sees as absolute paths. */
  private trimpath(value: string): Word {
    const parts: Array<string | { root: string }> = [];
    value.split(";").forEach((rule, i) => {
      if (i > 0) parts.push(";");
      const [from, to] = rule.split("=>");
      if (from === undefined || to === undefined) throw new Error(`-trimpath rule without =>: ${rule}`);
      parts.push({ root: this.paths.map(this.abs(from)) }, `=>${to}`);
    });
    return { concat: parts };
  }
}

/** A word of an action's shell script: literal, a tool, a sandbox path made absolute, or a concatenation. */
type Word = string | { tool: string } | { root: string } | { concat: Array<string | { root: string }> };

/** A word as one argument of a command run without a shell (ExecSpec.expand puts in the runner's paths). */
function plain(w: Word): string {
  if (typeof w === "string") return w;
  if ("tool" in w) return `${GO_TOOLDIR_MARK}/${w.tool}`;
  const parts = "root" in w ? [w] : w.concat;
  return parts.map((p) => (typeof p === "string" ? p : `${SANDBOX_MARK}/${p.root}`)).join("");
}

/** Single-quoted for sh, unless it needs no quotes. */
function quote(s: string): string {
  return /^[A-Za-z0-9_\-+=.,/:@%]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function render(w: Word): string {
  if (typeof w === "string") return quote(w);
  if ("tool" in w) return `"$T/${w.tool}"`;
  const parts = "root" in w ? [w] : w.concat;
  return `"${parts.map((p) => (typeof p === "string" ? p.replace(/["\\$`]/g, "\\$&") : `$S/${p.root.replace(/["\\$`]/g, "\\$&")}`)).join("")}"`;
}

/**
 * The shell script of one action. It finds the tools of the runner's matching toolchain (the
 * driver's GOTOOLDIR when the runner has the same layout, else `go env GOTOOLDIR`), makes the
 * output folders, and for pack copies the archive it appends to (a fresh file, writable
 * whatever the mode of the input).
 */
function script(env: GoEnv, inputs: Record<string, GraphInput>, outputs: string[], cwd: string, words: Word[], copy?: [string, string]): string {
  // Only pack runs in a shell now: its archive is copied first (see pack()).
  const lines = [
    // The compiler prints its errors to stdout; go build shows both streams as one, and a
    // failed command's error carries stderr.
    "exec 1>&2",
    "set -e",
    "S=$PWD",
    `T=${quote(env.GOTOOLDIR)}; [ -x "$T/compile" ] || T=$(go env GOTOOLDIR)`,
  ];
  // An input's folder is there already; a mkdir is one more process per action.
  const have = new Set(Object.keys(inputs).map((i) => posix.dirname(i)));
  const dirs = [...new Set(outputs.map((o) => posix.dirname(o)))].filter((d) => !have.has(d));
  if (dirs.length > 0) lines.push(`mkdir -p ${dirs.map(quote).join(" ")}`);
  if (copy !== undefined) lines.push(`cat ${quote(copy[0])} >${quote(copy[1])}`);
  if (cwd !== "") lines.push(`cd ${quote(cwd)}`);
  // exec: the shell becomes the tool rather than forking it and waiting (a process fewer).
  lines.push(`exec ${words.map(render).join(" ")}`);
  return lines.join("\n");
}
