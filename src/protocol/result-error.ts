import { GoroutineLimitError, RemoteError, StrandError } from "../errors.ts";

/** The error a failed Result carried, as the caller sees it: where it happened is added. */
export function resultError(value: unknown, functionName: string, runner: string): Error {
  // A runner's threads do not know the address drivers dial it by: the link does.
  if (value instanceof GoroutineLimitError && value.runner === "") return new GoroutineLimitError(runner, value.reason, functionName);
  if (value instanceof StrandError) {
    // ImportError, SerializationError (of the result), CancelledError...: say where.
    value.message += ` (${functionName} on runner ${runner})`;
    return value;
  }
  const e = value instanceof Error ? value : new Error(String(value));
  const code = (e as Error & { code?: unknown }).code;
  return new RemoteError({
    message: e.message, remoteName: e.name, remoteStack: e.stack ?? "",
    remoteCode: code === undefined ? undefined : String(code),
    functionName, runner, cause: e.cause,
  });
}
