import { readFileSync } from "node:fs";
import path from "node:path";
import { DockerfileParser } from "dockerfile-ast";
import { validate } from "dockerfile-utils";
import { repoRoot } from "./helpers.ts";

// The repository's Dockerfile, read the way a builder would: stages, each stage's
// instructions, and the final image's settings (user, entrypoint, command, healthcheck),
// ARG defaults substituted. No container engine runs here, so this is what tests can know.

export const DOCKERFILE = path.join(repoRoot, "Dockerfile");

export interface Instruction {
  keyword: string;
  /** Flags and arguments as written (continuation lines joined). */
  text: string;
}

export interface Stage {
  /** The base image, ARG defaults substituted. */
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

export interface Image {
  stages: Stage[];
  /** The last stage: the image. */
  final: Stage;
  user: string | undefined;
  /** Exec forms, parsed (a shell form fails to parse: the tests want exec forms). */
  entrypoint: string[];
  cmd: string[];
  healthcheck: { flags: Record<string, string>; cmd: string[] } | undefined;
  env: Record<string, string>;
}

/** The linter's findings (dockerfile-utils: syntax, instruction and flag checks). */
export function lint(text = readFileSync(DOCKERFILE, "utf8")): string[] {
  return validate(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
}

export function readImage(text = readFileSync(DOCKERFILE, "utf8")): Image {
  const file = DockerfileParser.parse(text);
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const i of file.getInstructions()) {
    const keyword = i.getKeyword();
    // Flags included (--from, --interval): the whole instruction after its keyword.
    const content = i.getTextContent().replace(/\\\n\s*/g, " ").trim().slice(keyword.length).trim();
    if (keyword === "ARG" && stages.length === 0) {
      const [k, v] = content.split("=");
      if (k !== undefined && v !== undefined) args[k] = v;
    } else if (keyword === "FROM") {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(content)!;
      stages.push({ from: m[1]!.replace(/\$\{(\w+)\}/g, (_, k: string) => args[k] ?? ""), name: m[2], instructions: [] });
    } else stages.at(-1)?.instructions.push({ keyword, text: content });
  }
  const final = stages.at(-1)!;
  const last = (k: string): string | undefined => final.instructions.filter((i) => i.keyword === k).at(-1)?.text;
  const env: Record<string, string> = {};
  for (const i of final.instructions.filter((x) => x.keyword === "ENV")) {
    const [k, ...v] = i.text.split("=");
    env[k!] = v.join("=");
  }
  const hc = last("HEALTHCHECK");
  let healthcheck: Image["healthcheck"];
  if (hc !== undefined) {
    const m = /^((?:--\S+\s+)*)CMD\s+(.*)$/s.exec(hc);
    if (m === null) throw new Error(`HEALTHCHECK without CMD: ${hc}`);
    const flags = Object.fromEntries(m[1]!.trim().split(/\s+/).filter(Boolean).map((f) => f.replace(/^--/, "").split("=") as [string, string]));
    healthcheck = { flags, cmd: JSON.parse(m[2]!) as string[] };
  }
  return {
    stages, final, env,
    user: last("USER"),
    entrypoint: JSON.parse(last("ENTRYPOINT") ?? "[]") as string[],
    cmd: JSON.parse(last("CMD") ?? "[]") as string[],
    healthcheck,
  };
}
