import { describe, expect, it } from "vitest";
import { MAX_FUNCTIONS, OTHER, RUNNER, SECONDS_BUCKETS } from "../../src/protocol/metrics/catalogue.ts";
import { parseMetricsAddress } from "../../src/protocol/metrics/endpoint.ts";
import { render, Samples } from "../../src/protocol/metrics/exposition.ts";
import { addCalls, CallTally, Histo, type CallsSnapshot } from "../../src/protocol/metrics/tally.ts";

describe("metric tallies", () => {
  it("count calls by function, failures by code, durations into buckets", () => {
    const t = new CallTally();
    t.started("f");
    t.started("f");
    t.settled("f", 0.00004, undefined);
    t.settled("f", 0.003, "ERR_STRAND_REMOTE");
    const s = t.snapshot();
    expect(s.f!.started).toBe(2);
    expect(s.f!.finished).toBe(2);
    expect(s.f!.failed).toEqual({ ERR_STRAND_REMOTE: 1 });
    expect(s.f!.duration.counts[0]).toBe(1); // ≤ 50 µs
    expect(s.f!.duration.counts[SECONDS_BUCKETS.indexOf(0.005)]).toBe(1);
    expect(s.f!.duration.sum).toBeCloseTo(0.00304);
  });

  it("fold function names beyond the cap into \"other\", in a process and when summed", () => {
    const t = new CallTally();
    for (let i = 0; i < MAX_FUNCTIONS + 10; i++) t.started(`f${i}`);
    t.started("__proto__");
    const s = t.snapshot();
    expect(Object.keys(s)).toHaveLength(MAX_FUNCTIONS + 1);
    expect(s[OTHER]!.started).toBe(11);
    const sum: CallsSnapshot = {};
    addCalls(sum, s);
    const other = new CallTally();
    other.started("g");
    addCalls(sum, other.snapshot()); // a new name past the cap: "other"
    expect(Object.keys(sum)).toHaveLength(MAX_FUNCTIONS + 1);
    expect(sum[OTHER]!.started).toBe(12);
    expect(Object.getPrototypeOf(sum)).toBe(Object.prototype);
  });

  it("render histograms cumulative, with +Inf, _sum and _count", async () => {
    const h = new Histo();
    h.observe(0.0001);
    h.observe(2);
    h.observe(1000);
    const s = new Samples();
    s.histogram(RUNNER.queueWait, [[{}, h.snapshot()]]);
    const text = await render(s);
    expect(text).toContain("# TYPE strand_runner_queue_wait_seconds histogram");
    expect(text).toContain('strand_runner_queue_wait_seconds_bucket{le="0.00005"} 0');
    expect(text).toContain('strand_runner_queue_wait_seconds_bucket{le="0.0001"} 1');
    expect(text).toContain('strand_runner_queue_wait_seconds_bucket{le="2.5"} 2');
    expect(text).toContain('strand_runner_queue_wait_seconds_bucket{le="300"} 2');
    expect(text).toContain('strand_runner_queue_wait_seconds_bucket{le="+Inf"} 3');
    expect(text).toContain("strand_runner_queue_wait_seconds_count 3");
    expect(text).toMatch(/^strand_runner_queue_wait_seconds_sum 1002\.0001/m);
  });

  it("escape label values", async () => {
    const s = new Samples();
    s.counts(RUNNER.channelOps, { 'a"b\\c\nd': 1 });
    expect(await render(s)).toContain('strand_runner_channel_ops_total{op="a\\"b\\\\c\\nd"} 1');
  });

  it("take metrics addresses as host:port, :port or port, loopback by default", () => {
    expect(parseMetricsAddress("9464")).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(parseMetricsAddress(":0")).toEqual({ host: "127.0.0.1", port: 0 });
    expect(parseMetricsAddress(true)).toEqual({ host: "127.0.0.1", port: 0 });
    expect(parseMetricsAddress("0.0.0.0:9464")).toEqual({ host: "0.0.0.0", port: 9464 });
    expect(parseMetricsAddress("[::1]:9464")).toEqual({ host: "::1", port: 9464 });
    expect(() => parseMetricsAddress("host")).toThrow(/bad metrics address/);
    expect(() => parseMetricsAddress("1:99999")).toThrow(/bad metrics address/);
  });
});
