// What crosses between the runner's main thread and its worker threads.

export interface CallTask {
  id: number;
  /** Absolute path of the cached bundle (named by its hash). */
  modulePath: string;
  exportName: string;
  /** Encoded argument array: msgpack body, then attachments. */
  segments: Uint8Array[];
}


export interface CallOutcome {
  id: number;
  ok: boolean;
  /** Encoded result (ok) or error (not ok). */
  segments: Uint8Array[];
  execMicros: number;
}
