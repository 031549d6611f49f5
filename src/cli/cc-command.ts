import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command } from "commander";

// `strand cc prog.c [more.c] -o prog.wasm [clang flags]`: compiles a C MPI program for
// `strand mpirun` with Debian's WebAssembly toolchain (clang's wasm32-wasi target, wasm-ld
// from lld, wasi-libc, compiler-rt's wasm32 builtins) against Strand's mpi.h. Every argument
// goes to clang as given; Strand adds the target, its include folder, and -O2 unless an -O
// flag is given. The names section stays (no -s), so traps show C function names.

/** The Debian packages the toolchain comes in. */
export const TOOLCHAIN_PACKAGES = "clang lld wasi-libc libclang-rt-dev-wasm32";

/** Where Strand's mpi.h is: <package>/include, from src/cli/ and dist/cli/ alike. */
export function includeDir(): string {
  return fileURLToPath(new URL("../../include/", import.meta.url));
}

/** clang's arguments for `strand cc <args>`. */
export function clangArgs(args: readonly string[], include = includeDir()): string[] {
  const optimize = args.some((a) => /^-O/.test(a)) ? [] : ["-O2"];
  return ["--target=wasm32-wasi", `-I${include}`, ...optimize, ...args];
}

/** What went wrong, in words a user can act on, when clang failed for want of a tool or library. */
export function missingToolchain(stderr: string): string | undefined {
  if (/unable to find library -lc|cannot open crt1\.o|'stdio\.h' file not found|'stdlib\.h' file not found/.test(stderr)) return "wasi-libc is missing";
  if (/libclang_rt\.builtins-wasm32\.a/.test(stderr)) return "compiler-rt's wasm32 builtins are missing";
  if (/unable to execute command.*wasm-ld|invalid linker name|"wasm-ld".*not found|wasm-ld: not found/i.test(stderr)) return "wasm-ld (lld) is missing";
  return undefined;
}

export function ccCommand(): Command {
  return new Command("cc")
    .description(`compile a C MPI program to WebAssembly for strand mpirun (clang --target=wasm32-wasi with Strand's mpi.h; needs Debian's ${TOOLCHAIN_PACKAGES})`)
    .usage("prog.c [more.c ...] -o prog.wasm [clang flags: -O3 -msimd128 -lm ...]")
    .argument("<args...>", "source files and clang flags, passed to clang as given")
    .allowUnknownOption()
    .action((args: string[]) => {
      const include = includeDir();
      if (!existsSync(`${include}mpi.h`)) throw new Error(`Strand's mpi.h is not in ${include}: is the package installed whole?`);
      const r = spawnSync("clang", clangArgs(args, include), { stdio: ["inherit", "inherit", "pipe"], encoding: "utf8" });
      if (r.error !== undefined) {
        const missing = (r.error as NodeJS.ErrnoException).code === "ENOENT";
        process.stderr.write(missing
          ? `strand cc: clang is not installed. On Debian or Ubuntu: apt-get install ${TOOLCHAIN_PACKAGES}\n`
          : `strand cc: cannot run clang: ${r.error.message}\n`);
        process.exit(127);
      }
      process.stderr.write(r.stderr);
      const missing = r.status === 0 ? undefined : missingToolchain(r.stderr);
      if (missing !== undefined) process.stderr.write(`strand cc: ${missing}. On Debian or Ubuntu: apt-get install ${TOOLCHAIN_PACKAGES}\n`);
      process.exit(r.status ?? 1);
    });
}
