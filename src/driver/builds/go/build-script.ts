import { shellWords } from "./shell-words.ts";

// `go build -n` prints the shell script the build would run: per package a `# importpath`
// header, then mkdir, heredocs that write small generated files (importcfg, embedcfg,
// go_asm.h), cd, cp, and the tool commands (compile, asm, pack, buildid, link), ending with
// the mv of the binary to its target. This reads that script into steps, in order, and
// refuses anything else so a plan never silently drops a command.

export type ScriptStep =
  | { kind: "package"; importPath: string }
  | { kind: "write"; path: string; text: string }
  | { kind: "mkdir"; path: string }
  | { kind: "cd"; dir: string }
  | { kind: "cp"; from: string; to: string }
  | { kind: "mv"; from: string; to: string }
  | { kind: "tool"; tool: string; argv: string[]; env: Record<string, string> };

const heredoc = /^cat >(\S+) << 'EOF'(?: # internal)?$/;

/** The steps of a `go build -n` script. */
export function parseBuildScript(script: string): ScriptStep[] {
  const lines = script.split("\n");
  const steps: ScriptStep[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "" || line === "#") continue;
    const doc = heredoc.exec(line);
    if (doc !== null) {
      // Go prints `cat >file << 'EOF'\n<text>EOF`: the text need not end in a newline, so the
      // first line that ends in EOF closes it.
      const text: string[] = [];
      for (i++; i < lines.length; i++) {
        const l = lines[i]!;
        if (l.endsWith("EOF")) { text.push(l.slice(0, -3)); break; }
        text.push(l);
      }
      if (i >= lines.length) throw new Error(`go build -n: unterminated heredoc for ${doc[1]}`);
      steps.push({ kind: "write", path: doc[1]!, text: text.join("\n") });
      continue;
    }
    if (line.startsWith("# ")) { steps.push({ kind: "package", importPath: line.slice(2).trim() }); continue; }
    const words = shellWords(line);
    if (words.length === 0) continue;
    const env: Record<string, string> = {};
    while (words.length > 0 && /^[A-Z_][A-Z0-9_]*=/.test(words[0]!)) {
      const w = words.shift()!;
      const eq = w.indexOf("=");
      env[w.slice(0, eq)] = w.slice(eq + 1);
    }
    const [cmd, ...args] = words;
    if (cmd === undefined) throw new Error(`go build -n: an assignment without a command: ${line}`);
    if (cmd === "mkdir" && args[0] === "-p" && args.length === 2) steps.push({ kind: "mkdir", path: args[1]! });
    else if (cmd === "cd" && args.length === 1) steps.push({ kind: "cd", dir: args[0]! });
    else if (cmd === "cp" && args.length === 2) steps.push({ kind: "cp", from: args[0]!, to: args[1]! });
    else if (cmd === "mv" && args.length === 2) steps.push({ kind: "mv", from: args[0]!, to: args[1]! });
    else if (cmd.includes("/pkg/tool/")) steps.push({ kind: "tool", tool: cmd.slice(cmd.lastIndexOf("/") + 1), argv: [cmd, ...args], env });
    else throw new Error(`go build -n printed a command Strand cannot distribute: ${line}`);
  }
  return steps;
}
