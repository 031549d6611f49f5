import { homedir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { wholeNumber } from "./whole-number.ts";
import { CommandError } from "../errors.ts";
import { formatPhases } from "../driver/builds/go/build-report.ts";
import { goBuildError, goBuildOnCluster } from "../driver/builds/go/go-build.ts";
import { PlanCache } from "../driver/builds/go/plan-cache.ts";
import type { TlsFlags } from "./tls-flags.ts";
import { jobCluster, withJobClusterFlags } from "./cluster-flags.ts";

// `strand go build [-o out] [-a] [-trimpath] [packages]`: go build, distributed. The Go
// toolchain plans it (go build -n), the cluster runs each compile, asm, pack and link as a
// command on a runner with the same Go version, as soon as its inputs exist; the binary is
// written here, the same program `go build -trimpath` makes (identical but for Go's build
// ID). Then where the time went, in DistGo's phases.

interface GoBuildFlags extends TlsFlags {
  o?: string;
  a?: boolean;
  p?: number;
  barriers?: boolean;
  local?: number;
  threads?: number;
  runners?: string;
  head?: string;
  token?: string;
}


/** The packages among the operands: Go's single-dash -trimpath (always on) comes through as one; anything else flag-like is refused. */
export function packagesOf(operands: readonly string[]): string[] {
  const packages = operands.filter((a) => a !== "-trimpath" && a !== "--trimpath");
  const unknown = packages.find((a) => a.startsWith("-"));
  if (unknown !== undefined) throw new Error(`strand go build does not take ${unknown} (it takes -o, -a, -p, -trimpath and the cluster flags)`);
  return packages.length === 0 ? ["."] : packages;
}

/** Where local runners of `strand go build` keep their file and action caches: $XDG_CACHE_HOME/strand or ~/.cache/strand. */
export function userCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "strand");
}

export function goCommand(): Command {
  const build = withJobClusterFlags(new Command("build"), "the build", { local: "2", threads: "1" })
    .description("build Go packages on the cluster: planned by the Go toolchain (go build -n; CGO off), compile/asm/pack/link run as commands on runners with the same Go version, as their inputs become ready; the binary is written here")
    .argument("[packages...]", "packages, as go build takes them (default .)")
    .option("-o <file>", "write the binary to this file")
    .option("-a", "accepted for go build's sake: the plan always holds every package (the action cache answers the unchanged ones)")
    .option("-p <n>", "go build's -p (only changes the -c flag Go passes the compiler)", (v) => wholeNumber(v, "-p"))
    .option("--barriers", "run in topological levels, each after the whole previous one (DistGo's way), to compare")
    .allowUnknownOption()
    .addHelpText("after", "\n-trimpath is accepted and always on: actions run in sandboxes, so paths are trimmed as go build -trimpath trims them.")
    .action(async (operands: string[], o: GoBuildFlags) => {
      const packages = packagesOf(operands);
      // Local runners keep the user's cache folder, not the Go project's: a later build finds its actions there.
      const cluster = await jobCluster(o, { runners: 2, threads: o.threads ?? 1, cacheDir: userCacheDir() });
      let code = 0;
      try {
        const outcome = await goBuildOnCluster(cluster, {
          dir: process.cwd(), packages,
          ...(o.o !== undefined ? { output: o.o } : {}), ...(o.p !== undefined ? { parallelism: o.p } : {}),
        }, { planCache: new PlanCache(join(userCacheDir(), "go-plans")), ...(o.barriers === true ? { barriers: true } : {}) });
        const err = goBuildError(outcome);
        if (err !== undefined) {
          // As go build says it: the package, then the compiler's own words.
          process.stderr.write(err instanceof CommandError ? `${err.stderr.trimEnd()}\n` : `strand go build: ${err.message}\n`);
          const skipped = outcome.result.skipped.length;
          if (skipped > 0) process.stderr.write(`strand go build: ${skipped} action${skipped === 1 ? "" : "s"} that needed it did not run\n`);
          code = 1;
        }
        process.stderr.write(`${formatPhases(outcome.phases, o.barriers === true ? "level barriers" : "as ready")}\n`);
      } finally {
        await cluster.close();
      }
      process.exit(code);
    });
  return new Command("go").description("Go builds on the cluster").addCommand(build);
}
