import { ToolchainError } from "../../errors.ts";
import { describeTool, meets, parseRequirement, type ToolInfo } from "../../protocol/exec-wire.ts";

// Which runners may run an action: those whose tools (told in their runner info as they
// connect) meet every requirement it names. Checked before anything is sent, so a mismatch is
// a ToolchainError up front, not a "command not found" halfway through a build.

export interface ToolRunner {
  readonly address: string;
  readonly info: { readonly tools?: readonly ToolInfo[] | null | undefined };
}

export const toolsOf = (r: ToolRunner): readonly ToolInfo[] => r.info.tools ?? [];

export function fits(r: ToolRunner, required: readonly string[]): boolean {
  return required.every((req) => toolsOf(r).some((t) => meets(t, req)));
}

/** Throws TypeError for a malformed requirement. */
export function checkRequirements(required: readonly string[]): void {
  for (const r of required) parseRequirement(r);
}

/** Throws ToolchainError unless some runner of `runners` meets every requirement. */
export function requireTools(runners: readonly ToolRunner[], required: readonly string[], action?: string): void {
  if (required.length === 0 || runners.some((r) => fits(r, required))) return;
  const missing = required.find((req) => !runners.some((r) => toolsOf(r).some((t) => meets(t, req)))) ?? required.join(" + ");
  const offered = runners.map((r) => `${toolsOf(r).map(describeTool).join(", ") || "no tools"} on ${r.address}`).join("; ");
  throw new ToolchainError(missing, offered, action);
}

/**
 * What the action cache key says of the tools: each requirement with the identities (version
 * and binary hash) of the tools that meet it on the runners that may run it. A different
 * compiler gives a different key; the same one on every runner, the same key everywhere.
 */
export function toolIdentity(runners: readonly ToolRunner[], required: readonly string[]): string[] {
  const eligible = runners.filter((r) => fits(r, required));
  return [...required].sort().map((req) => {
    const ids = new Set<string>();
    for (const r of eligible) for (const t of toolsOf(r)) if (meets(t, req)) ids.add(`${t.name}@${t.version}#${t.hash}`);
    return `${req}=${[...ids].sort().join("|")}`;
  });
}
