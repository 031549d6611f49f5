import net from "node:net";
import tls from "node:tls";
import { HANDSHAKE_TIMEOUT_MS, TLS_HANDSHAKE_RECORD, type Tls } from "./secure.ts";

export interface ServerHandlers {
  /**
   * A client ready for our handshake: a TLS socket when the server requires TLS. `raw`
   * is its TCP socket (the same one without TLS), as the server's "connection" event gave it.
   */
  accept(socket: net.Socket, raw: net.Socket): void;
  /**
   * A client to refuse before our handshake, in words it can read: a TLS server's client
   * that spoke plain TCP (`socket` is then plain: a TLS alert would be garbage to it), or,
   * with mutual TLS, a client whose certificate our CA did not sign (`socket` is TLS).
   */
  refuse(socket: net.Socket, reason: string): void;
  /**
   * A client's TLS handshake failed: not TLS after all, no common cipher, timeout, or it
   * hung up (it may not trust our certificate). `peer` is unknown once the socket is gone.
   */
  tlsError?(reason: string, peer: string | undefined): void;
}

/**
 * A server for one of our ports: plain TCP, or TLS only. A TLS server looks at the first
 * byte before handing the socket to TLS, so that a plain client is told "TLS required"
 * rather than dropped with a reset. With mutual TLS it checks the client's certificate
 * after the TLS handshake and refuses it in a frame: Node's own check (rejectUnauthorized)
 * would drop the connection without a word for a certificate from another CA, which the
 * client sees as a reset. `maxConnections`, `listen` and `close` are the TCP server's:
 * they count every client, in TLS or not.
 */
export function createServer(secure: Tls | undefined, handlers: ServerHandlers): net.Server {
  if (secure === undefined) return net.createServer((socket) => handlers.accept(socket, socket));
  // Sockets in their TLS handshake, by peer address: a live TCP connection's peer address
  // is unique on one port, and the TLS server hands back only the TLS socket.
  const handshaking = new Map<string, net.Socket>();
  const peerOf = (s: net.Socket): string => `${s.remoteAddress ?? "?"}:${s.remotePort ?? "?"}`;
  // Never listens: it runs TLS on sockets the TCP server hands it.
  const tlsServer = tls.createServer(secure.serverOptions(), (socket) => {
    const raw = handshaking.get(peerOf(socket)) ?? socket;
    handshaking.delete(peerOf(socket));
    if (secure.mutual && !socket.authorized) {
      const why = socket.getPeerCertificate().raw === undefined ? "none given" : String(socket.authorizationError);
      return handlers.refuse(socket, `TLS client certificate refused (this runner requires one signed by its CA): ${why}`);
    }
    handlers.accept(socket, raw);
  });
  tlsServer.on("tlsClientError", (err: Error & { code?: string }, socket) => {
    const reason = err.code === "ECONNRESET" ? "the client hung up (does it trust this runner's certificate?)" : err.code ?? err.message;
    handlers.tlsError?.(reason, socket.remoteAddress === undefined ? undefined : peerOf(socket));
  });
  return net.createServer((socket) => {
    // A client that connects and says nothing must not hold a connection slot forever.
    socket.setTimeout(HANDSHAKE_TIMEOUT_MS, () => socket.destroy());
    socket.on("error", () => {}); // a reset before the first byte: nothing to tell anyone
    socket.once("data", (first: Buffer) => {
      socket.setTimeout(0);
      if (first[0] !== TLS_HANDSHAKE_RECORD) {
        socket.unshift(first);
        return handlers.refuse(socket, "TLS required: this runner accepts TLS connections only (give the driver tls options, or STRAND_TLS_CA)");
      }
      const peer = peerOf(socket);
      handshaking.set(peer, socket);
      socket.once("close", () => {
        if (handshaking.get(peer) === socket) handshaking.delete(peer);
      });
      socket.pause();
      socket.unshift(first); // the TLS socket starts with what this one already buffered
      tlsServer.emit("connection", socket);
    });
  });
}
