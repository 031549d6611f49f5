// A channel's id says where its home is, so that any process holding a handle knows whom to
// ask: `<driver prefix>.c<n>` for a channel a driver made (its home is that driver), and
// `@<host>:<port>/<nonce>.c<n>` for one a runner thread made (its home is that thread, at its
// lane's address as drivers dial it). The nonce is drawn each time a thread starts, so the
// ids of a thread that died name no channel at its successor.

/** Where a channel lives. `home` is its id without the `.c<n>`: one per home, compared whole. */
export type ChanHome =
  | { kind: "driver"; home: string }
  | { kind: "thread"; home: string; host: string; port: number; nonce: string };

/** The home part of a thread's channel ids: `@<host>:<port>/<nonce>`. */
export function threadHome(address: string, nonce: string): string {
  return `@${address}/${nonce}`;
}

/** Where channel `id` lives, or undefined for an id that is not a channel's. */
export function homeOf(id: string): ChanHome | undefined {
  const dot = id.lastIndexOf(".c");
  if (dot <= 0 || !/^[1-9]\d{0,14}$/.test(id.slice(dot + 2))) return undefined;
  const home = id.slice(0, dot);
  if (!home.startsWith("@")) return home.includes("/") ? undefined : { kind: "driver", home };
  const slash = home.lastIndexOf("/");
  const nonce = home.slice(slash + 1);
  const address = home.slice(1, slash);
  const colon = address.lastIndexOf(":");
  if (slash < 0 || !/^[0-9a-f]{1,64}$/.test(nonce) || colon <= 0) return undefined;
  const port = Number(address.slice(colon + 1));
  let host = address.slice(0, colon);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (!Number.isInteger(port) || port < 1 || port > 65535 || host === "" || /[[\]/]/.test(host)) return undefined;
  return { kind: "thread", home, host, port, nonce };
}

/** Whether `id` names a channel made on a runner thread (cheap: no full parse). */
export const isThreadChan = (id: string): boolean => id.startsWith("@");
