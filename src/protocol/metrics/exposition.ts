import { collectDefaultMetrics, Counter, Registry, type Metric } from "prom-client";
import type { CallSpecs, MetricSpec } from "./catalogue.ts";
import type { CallsSnapshot, CountsSnapshot, HistogramSnapshot } from "./tally.ts";

// From snapshots to Prometheus's text format, through prom-client: our samples become
// metric objects of the shape prom-client's registries render (the shape
// `getMetricsAsJSON()` gives and `AggregatorRegistry` takes), merged with Node's default
// process metrics, which prom-client collects on each scrape.

type Labels = Record<string, string>;

interface Sample {
  labels: Labels;
  value: number;
  /** A histogram's series: name_bucket, name_sum, name_count. */
  metricName?: string;
}

interface MetricObject {
  name: string;
  help: string;
  type: MetricSpec["type"];
  aggregator: "sum";
  values: Sample[];
}

/** One scrape's samples, metric by metric, written against the catalogue's specs. */
export class Samples {
  readonly metrics: MetricObject[] = [];

  private add(spec: MetricSpec, values: Sample[]): void {
    this.metrics.push({ name: spec.name, help: spec.help, type: spec.type, aggregator: "sum", values });
  }

  /** A counter or gauge without labels. */
  value(spec: MetricSpec, value: number): void {
    this.add(spec, [{ labels: {}, value }]);
  }

  /**
   * A counter or gauge with one label: a series per key of `counts`, and a zero series for
   * each of `known` not among them (so that `rate()` starts from zero).
   */
  counts(spec: MetricSpec, counts: CountsSnapshot, known: readonly string[] = []): void {
    const label = spec.labels[0]!;
    const keys = [...new Set([...known, ...Object.keys(counts)])];
    this.add(spec, keys.map((k) => ({ labels: { [label]: k }, value: counts[k] ?? 0 })));
  }

  /** A histogram: one series per entry, each with its labels. */
  histogram(spec: MetricSpec, series: readonly (readonly [Labels, HistogramSnapshot])[]): void {
    const bounds = spec.buckets ?? [];
    const values: Sample[] = [];
    for (const [labels, h] of series) {
      let cumulative = 0;
      for (let i = 0; i < bounds.length; i++) {
        cumulative += h.counts[i] ?? 0;
        values.push({ labels: { ...labels, le: String(bounds[i]) }, value: cumulative, metricName: `${spec.name}_bucket` });
      }
      cumulative += h.counts[bounds.length] ?? 0;
      values.push({ labels: { ...labels, le: "+Inf" }, value: cumulative, metricName: `${spec.name}_bucket` });
      values.push({ labels, value: h.sum, metricName: `${spec.name}_sum` });
      values.push({ labels, value: cumulative, metricName: `${spec.name}_count` });
    }
    this.add(spec, values);
  }

  /** Calls by function: started, finished, failed by code, duration. */
  calls(specs: CallSpecs, calls: CallsSnapshot): void {
    const fns = Object.entries(calls);
    this.add(specs.started, fns.map(([fn, f]) => ({ labels: { function: fn }, value: f.started })));
    this.add(specs.finished, fns.map(([fn, f]) => ({ labels: { function: fn }, value: f.finished })));
    this.add(specs.failed, fns.flatMap(([fn, f]) => Object.entries(f.failed).map(([code, n]) => ({ labels: { function: fn, code }, value: n }))));
    this.histogram(specs.duration, fns.map(([fn, f]) => [{ function: fn }, f.duration] as const));
  }
}

let processMetrics: Registry | undefined;

/**
 * Node's process metrics (CPU, memory, heap, event loop lag, GC, handles: prom-client's
 * defaults, unprefixed so that stock dashboards find them, less three misnamed gauges). One registry per process: its
 * collectors (an event-loop delay monitor, a GC observer) are never stopped, so every
 * endpoint of the process shares them.
 */
function defaults(): Registry {
  if (processMetrics === undefined) {
    const reg = (processMetrics = new Registry());
    collectDefaultMetrics({ register: reg });
    // nodejs_active_handles_total and its kin are gauges with a counter's suffix (promtool
    // flags them); nodejs_active_handles{type} and the like carry the same numbers.
    for (const m of reg.getMetricsAsArray()) if (m.name.endsWith("_total") && !(m instanceof Counter)) reg.removeSingleMetric(m.name);
  }
  return processMetrics;
}

/** The content type of what `render` returns (Prometheus text format 0.0.4). */
export const METRICS_CONTENT_TYPE: string = Registry.PROMETHEUS_CONTENT_TYPE;

/** The text exposition of `samples` and the process metrics. */
export async function render(samples: Samples): Promise<string> {
  const ours = new Registry();
  for (const m of samples.metrics) {
    // What prom-client's own metrics are to a registry: a name, and `get()` for the values.
    ours.registerMetric({ ...m, get: () => Promise.resolve(m) } as unknown as Metric);
  }
  return Registry.merge([defaults(), ours]).metrics();
}
