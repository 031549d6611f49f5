import { describe, expect, it } from "vitest";
import { runMatmul } from "../examples/matmul/main.ts";
import { countWords } from "../examples/wordcount/count.ts";
import { runWordcount, splitAtWhitespace } from "../examples/wordcount/main.ts";
import { useCluster } from "./use-cluster.ts";

describe("examples", () => {
  const t = useCluster({ runners: 2, threads: 1 });

  it("matmul: the distributed product equals the single-process one", async () => {
    const row = await runMatmul(t.cluster, 128, { maxRuns: 1 });
    expect(row.detail).toMatch(/^max \|diff\| 0;/);
    expect(row.ok).toBe(true);
  });

  it("wordcount: the merged counts equal the single-process counts", async () => {
    const row = await runWordcount(t.cluster, 1, { maxRuns: 1 });
    expect(row.detail).toMatch(/^\d+ words, \d+ distinct;/);
    expect(row.ok).toBe(true);
  });

  it("matmul (wasm): the distributed product equals the single-process one and the JS kernel's", async () => {
    const row = await runMatmul(t.cluster, 130, { maxRuns: 1 }, "wasm");
    expect(row.detail).toMatch(/^max \|diff\| 0; max \|diff\| to the JS kernel 0( \(8 rows\))?;/);
    expect(row.ok).toBe(true);
  });

  it("wordcount (wasm): the merged counts equal the single-process and the JS kernel's counts", async () => {
    const row = await runWordcount(t.cluster, 1, { maxRuns: 1 }, "wasm");
    expect(row.detail).toMatch(/^\d+ words, \d+ distinct; equal to the JS kernel's counts;/);
    expect(row.ok).toBe(true);
  });

  it("wordcount tokenizes as documented and splits only at whitespace", () => {
    const text = "Call me Ishmael. The whale’s  whale's WHALE—o'er 'tis 1851 Cæsar";
    expect(Object.fromEntries(countWords(text))).toEqual({
      call: 1, me: 1, ishmael: 1, the: 1, "whale's": 2, whale: 1, "o'er": 1, tis: 1, "cæsar": 1,
    });
    const chunks = splitAtWhitespace(text, 5);
    expect(chunks.join("")).toBe(text);
    for (const c of chunks.slice(1)) expect(c).toMatch(/^\s/);
  });
});
