import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DRIVER, RUNNER, seriesNames, specsOf } from "../../src/protocol/metrics/catalogue.ts";
import { render, Samples } from "../../src/protocol/metrics/exposition.ts";

// deploy/grafana/strand.json: it parses, and every metric its queries name is one we export
// (ours from the catalogue; Node's process metrics from what the exposition holds).

interface Panel {
  type: string;
  title: string;
  id: number;
  targets?: { expr: string; refId: string }[];
  panels?: Panel[];
}

const dashboard = JSON.parse(readFileSync(new URL("../../deploy/grafana/strand.json", import.meta.url), "utf8")) as { title: string; uid: string; panels: Panel[] };
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

/** The metric names a PromQL expression mentions (functions, labels and keywords are not metric-shaped: see the prefixes). */
const metricNames = (expr: string): string[] =>
  [...expr.replace(/\{[^}]*\}/g, "").replace(/"[^"]*"/g, "").matchAll(/\b(strand_[a-z_]+|process_[a-z_]+|nodejs_[a-z0-9_]+)\b/g)].map((m) => m[1]!);

describe("docs/observability.md", () => {
  it("describes every metric we export", () => {
    const doc = readFileSync(new URL("../../docs/observability.md", import.meta.url), "utf8");
    for (const spec of [...specsOf(RUNNER), ...specsOf(DRIVER)]) expect(doc, spec.name).toContain(`| \`${spec.name}\` | ${spec.type} |`);
  });
});

describe("the Grafana dashboard", () => {
  it("is a dashboard with panels, each query-bearing one with queries", () => {
    expect(dashboard.title).toBe("Strand");
    expect(dashboard.uid).toBeTruthy();
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels.filter((q) => q.type !== "row")) expect(p.targets?.length, p.title).toBeGreaterThan(0);
    expect(exprs.length).toBeGreaterThan(20);
  });

  it("queries only metrics we export", async () => {
    const ours = new Set([...specsOf(RUNNER), ...specsOf(DRIVER)].flatMap(seriesNames));
    const exposed = await render(new Samples());
    const processMetrics = new Set([...exposed.matchAll(/^(process_\w+|nodejs_\w+)(?:\{| )/gm)].map((m) => m[1]!));
    for (const { panel, expr } of exprs) {
      const names = metricNames(expr);
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const n of names) expect(ours.has(n) || processMetrics.has(n), `${panel}: ${n} in ${expr}`).toBe(true);
    }
  });

  it("shows calls/s by function, errors, p50 and p99 durations, queue wait, bytes, the store and restarts", () => {
    const all = exprs.map((e) => e.expr).join("\n");
    for (const needed of [
      "rate(strand_driver_calls_finished_total", "strand_driver_calls_failed_total", "histogram_quantile(0.5, sum by (le, function) (rate(strand_driver_call_duration_seconds_bucket",
      "histogram_quantile(0.99", "strand_driver_call_queue_wait_seconds_bucket", "strand_runner_bytes_received_total", "strand_runner_object_store_bytes",
      "strand_runner_worker_restarts_total",
    ]) expect(all).toContain(needed);
  });
});
