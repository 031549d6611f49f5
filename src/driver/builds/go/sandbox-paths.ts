import { posix } from "node:path";

// Every path of a plan, moved into the sandbox an action runs in. The build's scratch folder
// ($WORK) becomes work/, GOROOT becomes goroot/ (mirrored, so an assembly file's relative
// #include still finds its header), and a package or module folder that -trimpath rewrites
// to Y becomes mod/Y. Nothing of the driver's own layout stays in an action, so the same
// action on another machine (or another folder) has the same command and the same cache key.

export class SandboxPaths {
  /** [driver folder, name it is trimmed to], longest first. */
  private readonly trims: Array<[string, string]> = [];

  constructor(private readonly goroot: string) {}

  /** Learns the folders of a -trimpath value ("dir=>importpath;$WORK/b001=>"). */
  learnTrimpath(value: string): void {
    for (const rule of value.split(";")) {
      const [from, to] = rule.split("=>");
      if (from === undefined || to === undefined || to === "" || from.startsWith("$WORK")) continue;
      if (isUnder(from, this.goroot)) continue;
      if (!this.trims.some(([f]) => f === from)) this.trims.push([from, to]);
    }
    this.trims.sort((a, b) => b[0].length - a[0].length);
  }

  /** The sandbox-relative path of `abs` (absolute, or under $WORK). */
  map(abs: string): string {
    if (abs === "$WORK" || abs.startsWith("$WORK/")) return posix.join("work", abs.slice("$WORK".length));
    if (isUnder(abs, this.goroot)) return posix.join("goroot", posix.relative(this.goroot, abs));
    for (const [from, to] of this.trims) {
      if (isUnder(abs, from)) return posix.join("mod", to, posix.relative(from, abs));
    }
    throw new Error(`${abs} is outside GOROOT and every package folder of the build: Strand cannot place it in a sandbox`);
  }

  /** Whether `abs` has a place in the sandbox. */
  canMap(abs: string): boolean {
    try {
      this.map(abs);
      return true;
    } catch {
      return false;
    }
  }

  /** The driver folder a sandbox `mod/...` path came from (for compiler messages), if any. */
  unmap(sandboxPath: string): string | undefined {
    if (sandboxPath.startsWith("goroot/")) return posix.join(this.goroot, sandboxPath.slice("goroot/".length));
    for (const [from, to] of this.trims) {
      const prefix = posix.join("mod", to);
      if (sandboxPath === prefix || sandboxPath.startsWith(prefix + "/")) return posix.join(from, sandboxPath.slice(prefix.length));
    }
    return undefined;
  }

  /** The module and package folders learned, as [driver folder, mod/... sandbox folder]. */
  folders(): Array<[string, string]> {
    return this.trims.map(([from, to]) => [from, posix.join("mod", to)]);
  }
}

export function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith("/") ? dir : dir + "/");
}
