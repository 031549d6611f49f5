import net from "node:net";
import tls from "node:tls";

// Socket reads that land where the reader says, instead of in a fresh 64 KiB buffer per
// read. Node's `onread` option does this (the kernel copies straight into a buffer the
// reader supplies, asked for again after every read), but only `net.connect` and
// `new net.Socket` take it: a server's sockets are made by Node. So the option's three
// slots are filled in on the socket, found by their names, and its handle told to read
// into the reader's memory: the same state the option sets up in Node 20's net.js. When
// anything here is not as expected (a TLS socket, another Node), the caller falls back
// to "data" events.
//
// Measured (100 MB echo, driver side): the default path allocated ~1,600 buffers of
// 64 KiB per 100 MB received and copied each into the frame's buffer; their external
// memory set off a mark-compact GC every ~60 ms of receiving (~125 ms of GC per echo).

/** Where a connection's reads go. */
export interface ReadTarget {
  /** The memory the next read lands in (at most its length is read). */
  next(): Uint8Array;
  /** `n` bytes landed at the start of `into`, the buffer `next()` gave. */
  landed(into: Uint8Array, n: number): void;
  /** Bytes that arrived before reads were redirected (the socket's readable buffer). */
  chunk(bytes: Uint8Array): void;
}

interface SocketHandle {
  useUserBuffer?: (buf: Uint8Array) => void;
}

const slot = (socket: object, name: string): symbol | undefined =>
  Object.getOwnPropertySymbols(socket).find((s) => s.description === name);

/** Redirects the socket's reads to `target`; false (nothing changed) when it cannot. */
export function readInto(socket: net.Socket, target: ReadTarget): boolean {
  if (socket instanceof tls.TLSSocket || process.env.STRAND_READ_INTO === "0") return false;
  const handle = (socket as unknown as { _handle?: SocketHandle | null })._handle;
  if (handle === undefined || handle === null || typeof handle.useUserBuffer !== "function") return false;
  const kBuffer = slot(socket, "kBuffer");
  const kBufferGen = slot(socket, "kBufferGen");
  const kBufferCb = slot(socket, "kBufferCb");
  if (kBuffer === undefined || kBufferGen === undefined || kBufferCb === undefined) return false;
  const s = socket as unknown as Record<symbol, unknown>;
  if (s[kBuffer] !== null || s[kBufferGen] !== null || s[kBufferCb] !== null) return false;
  // What arrived before now waits in the readable buffer.
  for (let c = socket.read() as Buffer | null; c !== null; c = socket.read() as Buffer | null) {
    target.chunk(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
  }
  const first = target.next();
  s[kBuffer] = first;
  s[kBufferGen] = () => target.next();
  s[kBufferCb] = (n: number, into: Uint8Array) => {
    target.landed(into, n);
  };
  handle.useUserBuffer(first);
  return true;
}
