import type { ActorAddress } from "./actor-wire.ts";

/**
 * An actor handle as the codec sees it: the address it leads to. The driver's and the
 * runner threads' handles are proxies over one of these, so a handle travels in arguments,
 * results, channel values and objects like any value, and decodes to a live handle there.
 */
export class ActorRef {
  constructor(readonly address: ActorAddress) {}
}
