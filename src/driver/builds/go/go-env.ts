import { execFile } from "node:child_process";
import { promisify } from "node:util";

// The toolchain a build plans with: where it lives and which target it builds for. Runners
// must offer the same GOVERSION (the graph's actions require `go@<GOVERSION>`).

const run = promisify(execFile);

export interface GoEnv {
  GOROOT: string;
  GOTOOLDIR: string;
  GOVERSION: string;
  GOOS: string;
  GOARCH: string;
  GOAMD64: string;
  GOEXPERIMENT: string;
}

/** The environment every planning `go` command gets: no cgo, no network, modules as they are. */
export function planningEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, CGO_ENABLED: "0", GOPROXY: "off", GOFLAGS: "-mod=mod", GOWORK: "off", ...extra };
}

/** `go env` for the toolchain on PATH (or `go`, if given), in `dir`. */
export async function goEnv(dir: string, go = "go"): Promise<GoEnv> {
  const keys = ["GOROOT", "GOTOOLDIR", "GOVERSION", "GOOS", "GOARCH", "GOAMD64", "GOEXPERIMENT"] as const;
  const { stdout } = await run(go, ["env", "-json", ...keys], { cwd: dir, env: planningEnv() });
  const parsed = JSON.parse(stdout) as Record<string, string>;
  const env = Object.fromEntries(keys.map((k) => [k, parsed[k] ?? ""])) as unknown as GoEnv;
  if (env.GOROOT === "" || env.GOVERSION === "") throw new Error(`go env in ${dir} gave no GOROOT or GOVERSION`);
  return env;
}
