import type { TlsOptions } from "../transport/secure.ts";

// TLS settings travel to child processes (local runners, a `strand run` script) in their
// environment, like the token: never in argv, which `ps` shows.

/** STRAND_TLS_CERT / STRAND_TLS_KEY / STRAND_TLS_CA for `tls` (each PEM text or a file path). */
export function tlsEnv(tls: TlsOptions | undefined): Record<string, string | undefined> {
  return { STRAND_TLS_CERT: tls?.cert || undefined, STRAND_TLS_KEY: tls?.key || undefined, STRAND_TLS_CA: tls?.ca || undefined };
}

/** TLS settings from STRAND_TLS_CA / STRAND_TLS_CERT / STRAND_TLS_KEY, if any is set. */
export function tlsFromEnv(env: NodeJS.ProcessEnv = process.env): TlsOptions | undefined {
  const pick = (k: string): string | undefined => env[k] || undefined;
  const tls: TlsOptions = {};
  const ca = pick("STRAND_TLS_CA");
  const cert = pick("STRAND_TLS_CERT");
  const key = pick("STRAND_TLS_KEY");
  if (ca !== undefined) tls.ca = ca;
  if (cert !== undefined) tls.cert = cert;
  if (key !== undefined) tls.key = key;
  return Object.keys(tls).length === 0 ? undefined : tls;
}
