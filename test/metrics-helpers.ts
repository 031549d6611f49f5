import { execFileSync, spawnSync } from "node:child_process";

// Reading what a metrics endpoint serves, for the metrics tests.

/** One sample of the text exposition: its metric name, labels and value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** GET /metrics at `address`: the body (and fails the test on any other status). */
export async function scrape(address: string, init: RequestInit = {}): Promise<string> {
  const res = await fetch(`http://${address}/metrics`, init);
  const body = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics at ${address}: ${res.status} ${body}`);
  return body;
}

/** The samples of a text exposition (the format Prometheus scrapes, version 0.0.4). */
export function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of the samples named `name` whose labels include `labels`. */
export function total(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

/** The `# TYPE` of each metric family. */
export function types(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

export const hasPromtool = (): boolean => spawnSync("promtool", ["--version"], { stdio: "ignore" }).status === 0;
export const hasPrometheus = (): boolean => spawnSync("prometheus", ["--version"], { stdio: "ignore" }).status === 0;

/** `promtool check metrics` on an exposition: its complaints ("" when there are none). Throws if it fails otherwise. */
export function promtoolCheck(text: string): string {
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  if (r.status !== 0 && r.status !== 3) throw new Error(`promtool failed (${r.status}): ${r.stderr}`);
  return `${r.stdout}${r.stderr}`.trim();
}

/** TCP ports process `pid` listens on (from `ss`, iproute2). */
export function listeningPorts(pid: number): number[] {
  const out = execFileSync("ss", ["-Hltnp"], { encoding: "utf8" });
  return out.split("\n").filter((l) => l.includes(`pid=${pid},`)).map((l) => Number(/:(\d+)\s/.exec(l.split(/\s+/)[3] + " ")?.[1]));
}
