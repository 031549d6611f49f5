import { actorOpLabel, parseActorOp } from "./actor-wire.ts";
import { RANK_EXPORT_PREFIX } from "./spmd-wire.ts";

/**
 * The function a call's export name stands for, as errors, metrics, spans and the dashboard
 * name it: an SPMD rank's export without its prefix, an actor operation as `Class.method`.
 */
export function functionOf(exportName: string): string {
  if (exportName.startsWith(RANK_EXPORT_PREFIX)) return exportName.slice(RANK_EXPORT_PREFIX.length);
  const op = parseActorOp(exportName);
  return op === undefined ? exportName : actorOpLabel(op);
}
