import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { AuthError, ProtocolError, reviveStrandError, StrandError } from "../errors.ts";
import { Connection, dial } from "../transport/connection.ts";
import type { Tls } from "../transport/secure.ts";
import { frameOf, PROTOCOL_VERSION, T, type Message, type RunnerInfo } from "./messages.ts";
import { readHeader, reads } from "./read-header.ts";
import { epochMicros } from "./activity.ts";

// Challenge-response over fresh nonces from both sides:
//   driver  -> Hello(version, cn)
//   runner  -> Challenge(version, sn, authRequired)
//   driver  -> Auth(HMAC(token, "client" | sn | cn))
//   runner  -> Welcome(info, HMAC(token, "server" | cn | sn))   or Refused, then close
// The token never travels; a recorded Auth is useless against a new server nonce; the
// driver checks the runner's proof too, so code is never shipped to an impostor.

const NONCE_BYTES = 32;
/**
 * Frames accepted before the peer has proven it holds the token. A big frame is allocated
 * in full as soon as its length arrives, so an unauthenticated peer must not be able to
 * announce 512 MiB: handshake messages are a few dozen bytes.
 */
const HANDSHAKE_MAX_FRAME = 4096;

function mac(token: string, role: "client" | "server", a: Uint8Array, b: Uint8Array): Buffer {
  return createHmac("sha256", token).update(`strand/${PROTOCOL_VERSION}/${role}`).update(a).update(b).digest();
}

function macEquals(expected: Buffer, got: unknown): boolean {
  if (!(got instanceof Uint8Array) || got.byteLength !== expected.byteLength) return false;
  return timingSafeEqual(expected, got);
}

export interface HandshakeResult<I> {
  info: I;
  /** Frames that arrived after the handshake in the same read, to be handled next. */
  backlog: Uint8Array[][];
  /** The dialer's estimate of the listener's clock (when the Welcome said it). */
  clock?: ClockSample | undefined;
}

/**
 * How far the peer's clock is ahead of ours (µs; negative: behind), measured over one round
 * trip as NTP does: the peer's clock when it answered, minus the midpoint of our send and
 * receive. The error is at most half the round trip (`rttMicros`), less any time the peer
 * spent before answering.
 */
export interface ClockSample {
  offsetMicros: number;
  rttMicros: number;
}

/** Runs `step` for each frame until it returns a value; rejects on close or timeout. */
function converse<R>(conn: Connection, timeoutMs: number, step: (segs: Uint8Array[]) => R | undefined): Promise<HandshakeResult<R>> {
  const maxFrame = conn.maxFrame;
  conn.maxFrame = Math.min(maxFrame, HANDSHAKE_MAX_FRAME);
  return new Promise((resolve, reject) => {
    let done = false;
    let info: R | undefined;
    const backlog: Uint8Array[][] = [];
    const fail = (err: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(err);
      // end(), not destroy(): a Refused frame queued just before must still leave.
      conn.end();
      setTimeout(() => conn.destroy(), 1000).unref();
    };
    const timer = setTimeout(() => fail(new ProtocolError(`handshake timed out after ${timeoutMs} ms`)), timeoutMs);
    conn.on("close", (err) => fail(err instanceof StrandError ? err : new ProtocolError(`connection closed during handshake${err ? `: ${err.message}` : ""}`)));
    conn.on("frame", (segs) => {
      if (done) {
        backlog.push(segs);
        return;
      }
      try {
        info = step(segs);
      } catch (err) {
        fail(err instanceof Error ? err : new ProtocolError(String(err)));
        return;
      }
      if (info !== undefined) {
        done = true;
        clearTimeout(timer);
        conn.maxFrame = maxFrame;
        // Resolve on the next tick so frames from the same read land in the backlog.
        queueMicrotask(() => resolve({ info: info as R, backlog }));
      }
    });
  });
}

const DIALER_READS = reads("during the handshake", T.Challenge, T.Welcome, T.Refused);
const LISTENER_READS = reads("during the handshake", T.Hello, T.Auth);

function refusal([, code, message]: Message<T.Refused>): Error {
  return reviveStrandError(code, "StrandError", message, {});
}

export function clientHandshake(conn: Connection, token: string | undefined, timeoutMs = 5000): Promise<HandshakeResult<RunnerInfo>> {
  const cn = randomBytes(NONCE_BYTES);
  let sn: Uint8Array | undefined;
  let authSentAt = 0;
  let clock: ClockSample | undefined;
  const result = converse(conn, timeoutMs, (segs) => {
    const h = readHeader(segs, DIALER_READS);
    if (h[0] === T.Refused) throw refusal(h);
    if (h[0] === T.Challenge && sn === undefined) {
      const [, version, nonce, authRequired] = h;
      if (version !== PROTOCOL_VERSION) throw new ProtocolError(`runner speaks protocol ${version}, this driver ${PROTOCOL_VERSION}`);
      if (nonce.byteLength !== NONCE_BYTES) throw new ProtocolError("bad challenge nonce");
      sn = nonce;
      if (authRequired && token === undefined) throw new AuthError("runner requires a token and none was given (STRAND_TOKEN)");
      if (!authRequired && token !== undefined) throw new AuthError("runner does not check tokens but this driver has one: refusing an unauthenticated peer");
      conn.send(frameOf([T.Auth, token === undefined ? new Uint8Array(0) : mac(token, "client", sn, cn)]));
      authSentAt = epochMicros();
      return undefined;
    }
    if (h[0] === T.Welcome && sn !== undefined) {
      const [, info, proof, theirs] = h;
      if (token !== undefined && !macEquals(mac(token, "server", cn, sn), proof)) {
        throw new AuthError("runner failed to prove it holds the token");
      }
      const now = epochMicros();
      if (typeof theirs === "number") clock = { offsetMicros: theirs - (authSentAt + now) / 2, rttMicros: now - authSentAt };
      return info;
    }
    throw new ProtocolError(`unexpected message ${h[0]} during handshake`);
  });
  conn.send(frameOf([T.Hello, PROTOCOL_VERSION, cn]));
  return result.then((r) => ({ ...r, clock }));
}

export function serverHandshake(conn: Connection, token: string | undefined, info: RunnerInfo, timeoutMs = 5000): Promise<HandshakeResult<true>> {
  const sn = randomBytes(NONCE_BYTES);
  let cn: Uint8Array | undefined;
  const refuse = (code: string, message: string): never => {
    conn.send(frameOf([T.Refused, code, message]));
    conn.end();
    throw code === AuthError.code ? new AuthError(message) : new ProtocolError(message);
  };
  return converse(conn, timeoutMs, (segs) => {
    let h: Message<T.Hello | T.Auth>;
    try {
      h = readHeader(segs, LISTENER_READS);
    } catch (err) {
      return refuse(ProtocolError.code, (err as Error).message);
    }
    if (h[0] === T.Hello && cn === undefined) {
      const [, version, nonce] = h;
      if (version !== PROTOCOL_VERSION) refuse(ProtocolError.code, `runner speaks protocol ${PROTOCOL_VERSION}, driver ${version}`);
      if (nonce.byteLength !== NONCE_BYTES) refuse(ProtocolError.code, "bad hello nonce");
      cn = nonce;
      conn.send(frameOf([T.Challenge, PROTOCOL_VERSION, sn, token !== undefined]));
      return undefined;
    }
    if (h[0] === T.Auth && cn !== undefined) {
      if (token !== undefined && !macEquals(mac(token, "client", sn, cn), h[1])) refuse(AuthError.code, "bad token");
      conn.send(frameOf([T.Welcome, info, token === undefined ? new Uint8Array(0) : mac(token, "server", cn, sn), epochMicros()]));
      return true;
    }
    return refuse(ProtocolError.code, `unexpected message ${h[0]} during handshake`);
  });
}

/**
 * Refuses a client before the handshake (no TLS where TLS is required, or a client
 * certificate our CA did not sign): a Refused frame it can read (its Hello gets no
 * Challenge), then close. Nothing it sent is looked at.
 */
export function refuseEarly(conn: Connection, message: string): void {
  conn.maxFrame = HANDSHAKE_MAX_FRAME; // what it sends is read (and dropped) until it closes
  conn.send(frameOf([T.Refused, AuthError.code, message]));
  conn.end();
  setTimeout(() => conn.destroy(), 1000).unref();
}

/** How a client reaches a peer's port: the cluster's token and TLS, and its frame limit. */
export interface ClientDialing {
  token: string | undefined;
  tls: Tls | undefined;
  maxFrame: number;
}

/**
 * Dials `host:port` and runs the client handshake: the connection once the peer has proved it
 * holds the token (closed again if the handshake fails). What clients of runner threads use
 * (channel homes, actors).
 */
export async function dialPeer(host: string, port: number, d: ClientDialing): Promise<Connection> {
  const conn = new Connection(await dial(host, port, { tls: d.tls }), d.maxFrame);
  try {
    await clientHandshake(conn, d.token);
  } catch (err) {
    conn.destroy();
    throw err;
  }
  return conn;
}
