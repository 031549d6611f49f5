import { readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandError, local, TimeoutError, type Cluster, type ExecSpec, type FileRef } from "../src/index.ts";
import { removeDir, tempDir } from "./helpers.ts";

// Reused sandboxes under stress (issue 18): two runners sharing one cache directory, as
// local() and `strand go build` set them up, two threads each, and waves of actions of
// varied shapes sent at once: nested folders appearing and disappearing between reuses,
// inputs sent inline with the action (the same new file to both runners at once, as
// importcfg files are) and inputs from the file cache, failures, timeouts, and commands that
// leave a child running in their sandbox to remove or plant folders after they end. Every
// action that should succeed must see exactly its own inputs, whole, and nothing else.

const WAVES = 6;
const PER_WAVE = 40;

const folders = ["work/b001", "work/b002/sub", "work/b231", "src/a/b/c", "src/a/d", "goroot/src/runtime/internal/atomic", "x"];

/** A small deterministic generator: the same plan each run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

type Kind = "ok" | "fail" | "timeout" | "lingers";

interface Planned {
  spec: ExecSpec;
  label: string;
  kind: Kind;
  /** The inputs' paths and contents the command must find, and only those. */
  expect: Record<string, string>;
}

describe("exec sandboxes under stress: 2 runners sharing a cache, 2 threads each", () => {
  let dir: string;
  let cacheDir: string;
  let cluster: Cluster;
  beforeAll(async () => {
    dir = await tempDir("strand-sandbox-stress-");
    cacheDir = path.join(dir, "cache");
    cluster = await local({ runners: 2, threads: 2, cacheDir });
  });
  afterAll(async () => {
    await cluster.close();
    await removeDir(dir);
  });

  it("runs waves of varied actions with every input in place, failures and timeouts confined to their actions, and leaves every sandbox empty", async () => {
    const random = rng(18);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    // A big input (over the inline limit): uploaded once, then fetched or linked from the cache.
    const big = "b".repeat(200 * 1024);
    const bigRef = await cluster.putBytes(new TextEncoder().encode(big));
    const counts: Record<Kind, number> = { ok: 0, fail: 0, timeout: 0, lingers: 0 };

    for (let wave = 0; wave < WAVES; wave++) {
      // New in each wave, the same bytes for every action of the wave: both runners get it inline at once.
      const shared = `importcfg of wave ${wave}\n`;
      const sharedRef = await cluster.putBytes(new TextEncoder().encode(shared));
      const planned: Planned[] = [];
      for (let i = 0; i < PER_WAVE; i++) {
        const r = random();
        const kind: Kind = wave === WAVES - 1 ? "ok" : r < 0.1 ? "fail" : r < 0.16 ? "timeout" : r < 0.3 ? "lingers" : "ok";
        const inputs: Record<string, FileRef> = {};
        const expect: Record<string, string> = {};
        const add = async (p: string, text: string, ref?: FileRef): Promise<void> => {
          inputs[p] = ref ?? await cluster.putBytes(new TextEncoder().encode(text));
          expect[p] = text;
        };
        const home = pick(folders);
        await add(`${home}/importcfg`, shared, sharedRef);
        const extra = Math.floor(random() * 4);
        for (let j = 0; j < extra; j++) {
          const f = `${pick(folders)}/f${j}.go`;
          if (!(f in expect)) await add(f, `package p${wave}_${i}_${j}\n`);
        }
        const bigAt = `${pick(folders)}/big.a`;
        if (random() < 0.3 && !(bigAt in expect)) await add(bigAt, big, bigRef);
        const out = `${pick(folders)}/out/o${i}.txt`;
        const cwd = random() < 0.3 ? home : ".";
        const root = cwd === "." ? "." : home.split("/").map(() => "..").join("/");
        // Checks every input whole and that no other file is there, then writes its output.
        const checks = Object.entries(expect).map(([p, text]) =>
          `${text.length > 1000 ? `[ "$(wc -c < ${root}/${p})" -eq ${text.length} ]` : `[ "$(cat ${root}/${p})" = ${quote(text.trimEnd())} ]`} || { echo "wrong or missing ${p}" >&2; exit 9; }`).join("\n");
        const n = Object.keys(expect).length;
        const files = `[ "$(cd ${root} && find . -type f | wc -l)" = ${n} ] || { echo "stray files:" >&2; (cd ${root} && find . -type f) >&2; exit 9; }`;
        const tail =
          kind === "fail" ? "echo failing on purpose >&2; exit 3" :
          kind === "timeout" ? "sleep 30" :
          kind === "lingers" ? `(sleep 1; rm -rf ${root}/work ${root}/src; mkdir -p ${root}/work/b231; echo late > ${root}/work/b231/importcfg) >/dev/null 2>&1 &` :
          "";
        planned.push({
          kind, expect, label: `stress ${wave}-${i} (${kind})`,
          spec: {
            argv: ["sh", "-c", [checks, files, `mkdir -p ${root}/${path.posix.dirname(out)}`, `echo ${wave}-${i} > ${root}/${out}`, tail].join("\n")],
            inputs, outputs: kind === "fail" || kind === "timeout" ? [] : [out], cwd,
            ...(kind === "timeout" ? { timeout: 300 } : {}),
          },
        });
      }
      const results = await Promise.allSettled(planned.map((p) => cluster.exec(p.spec, { label: p.label })));
      results.forEach((res, i) => {
        const { kind, spec, label } = planned[i]!;
        counts[kind]++;
        if (kind === "fail") {
          expect(res.status, label).toBe("rejected");
          const err = (res as PromiseRejectedResult).reason as CommandError;
          expect(err, label).toBeInstanceOf(CommandError);
          expect(err.exitCode, `${label}: ${err.stderr}`).toBe(3);
        } else if (kind === "timeout") {
          expect(res.status, label).toBe("rejected");
          expect((res as PromiseRejectedResult).reason, label).toBeInstanceOf(TimeoutError);
        } else {
          if (res.status === "rejected") throw new Error(`${label} failed: ${String((res.reason as Error).stack ?? res.reason)}`);
          expect(Object.keys(res.value.outputs), label).toEqual(spec.outputs);
        }
      });
    }
    expect(counts.ok + counts.lingers).toBeGreaterThan(PER_WAVE * 3);
    expect(counts.fail).toBeGreaterThan(0);
    expect(counts.timeout).toBeGreaterThan(0);
    expect(counts.lingers).toBeGreaterThan(0);

    // Every sandbox given back is empty of files: nothing an action (or a child it left) made is kept for the next.
    const left: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const full = path.join(d, e.name);
        if (e.isDirectory()) walk(full);
        else left.push(path.relative(cacheDir, full));
      }
    };
    // A lingering child would have acted by now (it sleeps 1 s; the last wave ran after).
    walk(path.join(cacheDir, "exec", "sandboxes"));
    expect(left).toEqual([]);
    expect(statSync(path.join(cacheDir, "exec", "files")).isDirectory()).toBe(true);
  }, 600_000);

  it("gets over the runners' sandbox folders removed from under them: the actions that met it run again, later ones run", async () => {
    const f = await cluster.putBytes(new TextEncoder().encode("in\n"));
    const action = (i: number): ExecSpec => ({
      argv: ["sh", "-c", `[ "$(cat a/b${i % 3}/in)" = in ] && echo ${i} > out/o`], inputs: { [`a/b${i % 3}/in`]: f }, outputs: ["out/o"],
    });
    // Every thread of both runners gets a sandbox (their folders are made as each thread first runs a command).
    await Promise.all(Array.from({ length: 8 }, (_, i) => cluster.exec(action(i))));
    const parent = path.join(cacheDir, "exec", "sandboxes");
    const before = readdirSync(parent);
    expect(before.length).toBeGreaterThan(0);
    for (const area of before) rmSync(path.join(parent, area), { recursive: true, force: true });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => cluster.exec(action(100 + i))));
    expect(results.map((r) => Object.keys(r.outputs))).toEqual(Array.from({ length: 8 }, () => ["out/o"]));
    // Each thread made its own folder again, under its own name: no thread was replaced, none is wedged.
    const after = readdirSync(parent);
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((a) => !before.includes(a))).toEqual([]);
  }, 300_000);
});
