import { pino, type Logger } from "pino";

/**
 * Logs go to stderr as JSON lines (pino); stdout stays free for program output such as
 * the runner's "listening on" line. Level from STRAND_LOG (default: warn for drivers).
 * Nothing ever logs a token: it is not passed to any logger.
 */
export function createLogger(name: string, defaultLevel = "warn"): Logger {
  return pino({ name, level: process.env.STRAND_LOG ?? defaultLevel }, pino.destination({ fd: 2, sync: false }));
}
