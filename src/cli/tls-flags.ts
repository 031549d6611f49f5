import { Option } from "commander";
import type { TlsOptions } from "../transport/secure.ts";

// --tls-cert, --tls-key, --tls-ca: the same three flags on every command, each a PEM file
// or PEM text, with STRAND_TLS_CERT / STRAND_TLS_KEY / STRAND_TLS_CA as fallbacks.

export interface TlsFlags {
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
}

export const tlsFlags = {
  cert: (what = "this driver's certificate (PEM file or text), for runners that require one (mutual TLS)"): Option =>
    new Option("--tls-cert <pem>", what).env("STRAND_TLS_CERT"),
  key: (): Option => new Option("--tls-key <pem>", "the private key of --tls-cert (PEM file or text)").env("STRAND_TLS_KEY"),
  ca: (what = "CA that signs the runners' certificates (PEM file or text): connect with TLS"): Option =>
    new Option("--tls-ca <pem>", what).env("STRAND_TLS_CA"),
};

/** The TLS settings the flags give; undefined when none is set (plain TCP). */
export function tlsOptions(o: TlsFlags): TlsOptions | undefined {
  if (!o.tlsCert && !o.tlsKey && !o.tlsCa) return undefined;
  return {
    ...(o.tlsCert ? { cert: o.tlsCert } : {}),
    ...(o.tlsKey ? { key: o.tlsKey } : {}),
    ...(o.tlsCa ? { ca: o.tlsCa } : {}),
  };
}
