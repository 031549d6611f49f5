import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { AuthError } from "../errors.ts";

// TLS for every connection between hosts: driver -> runner (main port and lanes),
// runner -> runner (object fetches), rank -> rank. TLS encrypts and authenticates the
// hosts; the token handshake still runs on top of it and still decides who may run code.

/**
 * TLS settings. Each value is either PEM text (it contains "-----BEGIN") or the path of a
 * PEM file, read once when the settings are loaded.
 */
export interface TlsOptions {
  /** This host's certificate (chain). A runner needs one; a driver, only for mutual TLS. */
  cert?: string;
  /** The private key of `cert`. */
  key?: string;
  /**
   * CA certificate(s) that sign the peers' certificates (default: Node's root store).
   * On a runner, also makes client certificates required and checked (mutual TLS).
   */
  ca?: string;
}

/** TLS settings as PEM text: plain data, so it crosses to worker threads as it is. */
export interface TlsPem {
  cert?: string;
  key?: string;
  ca?: string;
}

/** Reads the files among `opts` once; the result holds PEM text only. */
export function loadTls(opts: TlsOptions): TlsPem {
  const pem: TlsPem = {};
  for (const k of ["cert", "key", "ca"] as const) {
    const v = opts[k];
    if (v === undefined || v === "") continue;
    pem[k] = v.includes("-----BEGIN") ? v : readPem(v, k);
  }
  if ((pem.cert === undefined) !== (pem.key === undefined)) throw new TypeError("TLS: a certificate needs its key, and a key its certificate (cert and key)");
  return pem;
}

function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`TLS: cannot read the ${what} file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * One host's TLS material, prepared once (per process, or per worker thread): the client
 * context every dial shares, and the options of every server it starts.
 */
export class Tls {
  private readonly clientContext: tls.SecureContext;

  constructor(readonly pem: TlsPem) {
    // Built now, so bad PEM fails at startup rather than at the first connection.
    this.clientContext = tls.createSecureContext({ ...pem });
  }

  /** Servers ask for and check client certificates when a CA is given. */
  get mutual(): boolean {
    return this.pem.ca !== undefined;
  }

  /** Options of a tls.Server for our ports (a server needs a certificate). */
  serverOptions(): tls.TlsOptions {
    if (this.pem.cert === undefined) throw new TypeError("TLS: a runner needs a certificate and its key (--tls-cert, --tls-key)");
    return {
      cert: this.pem.cert, key: this.pem.key!, ...(this.pem.ca !== undefined ? { ca: this.pem.ca } : {}),
      // Client certificates are checked, and refused, by createServer (server.ts).
      requestCert: this.mutual, rejectUnauthorized: false,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    };
  }

  /**
   * Runs the client side of TLS over a connected socket. The peer's certificate must be
   * signed by our CA and name `host` (an IP address is checked against the certificate's IP
   * SANs: SNI carries names only). Every failure is an AuthError: it will not go away by
   * trying again.
   */
  upgrade(socket: net.Socket, host: string, timeoutMs = HANDSHAKE_TIMEOUT_MS): Promise<tls.TLSSocket> {
    const where = `${host}:${socket.remotePort ?? "?"}`;
    return new Promise((resolve, reject) => {
      const s = tls.connect({ socket, host, secureContext: this.clientContext, ...(net.isIP(host) === 0 ? { servername: host } : {}) });
      const fail = (err: Error): void => {
        settle();
        s.destroy();
        reject(handshakeFailure(err, where));
      };
      const closed = (): void => fail(new Error("connection closed"));
      const settle = (): void => {
        clearTimeout(timer);
        s.off("error", fail);
        s.off("close", closed);
      };
      const timer = setTimeout(() => fail(new Error(`no TLS handshake within ${timeoutMs} ms`)), timeoutMs);
      s.on("error", fail);
      s.on("close", closed);
      s.once("secureConnect", () => {
        settle();
        resolve(s);
      });
    });
  }
}

/** The TLS handshake (ours, or the peer's) may take this long. */
export const HANDSHAKE_TIMEOUT_MS = 5000;

/** The first byte of a TLS connection: a handshake record. Our frames start with a length's high byte (0 for a Hello). */
export const TLS_HANDSHAKE_RECORD = 0x16;

type CodedError = Error & { code?: unknown };

/** Why a client-side TLS handshake failed, as the AuthError the caller sees. */
function handshakeFailure(err: CodedError, where: string): AuthError {
  const code = typeof err.code === "string" ? err.code : "";
  if (/^ERR_SSL_.*ALERT/.test(code)) return new AuthError(`TLS: ${where} refused this host: ${alertText(err)}`);
  if (isVerifyFailure(code)) return new AuthError(`TLS: cannot verify ${where}: ${err.message}`);
  // Reset, hang-up, silence or an answer that is not TLS ("wrong version number"): a peer
  // that does not speak TLS.
  return new AuthError(`TLS required: ${where} did not complete a TLS handshake (a runner started without --tls-cert?): ${alertText(err)}`);
}

/**
 * A TLS alert after the handshake, as an AuthError; undefined for other errors. With
 * TLS 1.3 a client finishes its handshake before the server has checked the client's
 * certificate, so a server that refuses it in TLS (not ours) says so on the first read.
 */
export function tlsFailure(err: CodedError): AuthError | undefined {
  const code = typeof err.code === "string" ? err.code : "";
  if (!code.startsWith("ERR_SSL_")) return undefined;
  return new AuthError(`TLS: the peer refused this connection: ${alertText(err)}`);
}

/** OpenSSL's message without its file and line noise: "tlsv13 alert certificate required". */
function alertText(err: Error): string {
  const m = /SSL routines:[^:]*:([^:]+)/.exec(err.message);
  return m?.[1] ?? err.message;
}

function isVerifyFailure(code: string): boolean {
  return code === "ERR_TLS_CERT_ALTNAME_INVALID" || code.includes("CERT") || code.includes("ISSUER") || code.includes("SIGNATURE");
}
