// The command graph a Go build plan becomes: the shape cluster command graphs take
// (runGraph), so the same plan runs on a cluster or, in tests, on the local executor.

/** Where an action's input file comes from. */
export type GraphInput =
  | { file: string } // a file on the driver
  | { dir: string } // a directory on the driver
  | { action: string; output: string } // another action's output
  | { bytes: string }; // a small generated file, base64

export interface GraphAction {
  id: string;
  argv: string[];
  env?: Record<string, string>;
  /** Sandbox-relative. */
  cwd?: string;
  /** Tools the runner must offer, as name@version (e.g. go@go1.19.8). */
  tools?: string[];
  /** Sandbox-relative path -> where the file comes from. */
  inputs: Record<string, GraphInput>;
  /** Sandbox-relative paths the action leaves behind. */
  outputs: string[];
}

export interface Graph {
  actions: GraphAction[];
}
