import { actorOpLabel, parseActorOp } from "./actor-wire.ts";
import { RANK_EXPORT_PREFIX } from "./spmd-wire.ts";

const STRAND_PREFIX = "strand:";

/**
 * The function a call's export name stands for, as errors, metrics, spans and the dashboard
 * name it: an SPMD rank's export without its prefix, an actor operation as `Class.method`.
 */
export function functionOf(exportName: string): string {
  // Both prefixes start so: a plain function's name (the metrics' call path) is told apart in one test.
  if (!exportName.startsWith(STRAND_PREFIX)) return exportName;
  if (exportName.startsWith(RANK_EXPORT_PREFIX)) return exportName.slice(RANK_EXPORT_PREFIX.length);
  const op = parseActorOp(exportName);
  return op === undefined ? exportName : actorOpLabel(op);
}
