// What TLS costs: the same cluster shape with plain TCP and with mutual TLS, reps
// alternating in one process. Rows: connecting a driver (TCP + TLS + token handshakes,
// lanes excluded), the round trip of a no-op call (on a lane, as rtt.ts), a 100 MB
// Float64Array `echo(x)` (as bulk.ts), and a 1 MiB ping-pong between SPMD ranks on two
// runners (as mpi.ts). Certificates (P-256) are made with the openssl CLI in a temp dir.
import { stopOnClose } from "../src/driver/cluster.ts";
import { startLocalRunners } from "../src/driver/local.ts";
import { Cluster, type Remote, type TlsOptions } from "../src/index.ts";
import { makeTestPki } from "../test/tls-certs.ts";
import { removeDir, tempDir } from "../test/helpers.ts";
import { footer, median, num, percentile, pinClientAndServers, progress, quick, ratio, reps, spread, table } from "./common.ts";

type Noop = typeof import("./fixtures/noop.ts");
type Ranks = typeof import("./fixtures/mpi-ranks.ts");

const REPS = reps(5, 2);
const CALLS = quick ? 500 : 2000;
const CONNECTS = quick ? 5 : 20;
const MB = 1e6;
const BYTES = (quick ? 10 : 100) * MB;
const PINGPONG_BYTES = 1 << 20;
const PINGPONG_ROUNDS = quick ? 20 : 100;

interface Setup {
  name: string;
  cluster: Cluster;
  /** A second, 2-runner cluster for the ranks. */
  pair: Cluster;
  connect: () => Promise<Cluster>;
  m: Remote<Noop>;
  r: Remote<Ranks>;
}

interface Sample {
  connectMs: number[];
  p50: number[];
  p99: number[];
  bulkMs: number[];
  pingpongMBs: number[];
}

async function rtt(m: Remote<Noop>): Promise<{ p50: number; p99: number }> {
  const lat = new Float64Array(CALLS);
  for (let i = 0; i < CALLS; i++) {
    const t0 = performance.now();
    await m.noop();
    lat[i] = (performance.now() - t0) * 1000;
  }
  lat.sort();
  return { p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

async function connectMs(connect: () => Promise<Cluster>): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < CONNECTS; i++) {
    const t0 = performance.now();
    const c = await connect();
    ms.push(performance.now() - t0);
    await c.close();
  }
  return median(ms);
}

async function main(): Promise<void> {
  const dir = await tempDir("strand-bench-tls-");
  try {
    const pki = await makeTestPki(dir);
    const runnerTls = { ...pki.runner, ca: pki.ca };
    const driverTls = { ...pki.client, ca: pki.ca };
    const setups: Setup[] = [];
    // Runners with the runner certificate, drivers with the client one.
    const start = async (n: number, tls: TlsOptions | undefined): Promise<{ cluster: Cluster; connect: () => Promise<Cluster> }> => {
      const r = await startLocalRunners({ runners: n, threads: 1, ...(tls ? { tls } : {}) });
      const connect = (): Promise<Cluster> => Cluster.create({ runners: r.addresses, token: r.token, tls: tls ? driverTls : undefined });
      const cluster = await Cluster.create({ runners: r.addresses, token: r.token, tls: tls ? driverTls : undefined });
      stopOnClose(cluster, r.stop);
      return { cluster, connect };
    };
    for (const tls of [undefined, runnerTls]) {
      const { cluster, connect } = await start(1, tls);
      const { cluster: pair } = await start(2, tls);
      setups.push({
        name: tls ? "mutual TLS" : "plain TCP",
        cluster, pair, connect,
        m: await cluster.import<Noop>(new URL("./fixtures/noop.ts", import.meta.url)),
        r: await pair.import<Ranks>(new URL("./fixtures/mpi-ranks.ts", import.meta.url)),
      });
    }
    const pinned = pinClientAndServers(setups.flatMap((s) => [...s.cluster.runners, ...s.pair.runners].map((r) => r.pid)));

    const data = new Float64Array(BYTES / 8).map((_, i) => i * 0.5);
    const samples = setups.map((): Sample => ({ connectMs: [], p50: [], p99: [], bulkMs: [], pingpongMBs: [] }));
    progress(`tls: warm-up${pinned ? ", client pinned to CPU 0, runners to CPU 1" : ""}`);
    for (const s of setups) {
      while (s.cluster.runners[0]!.lanes.length < 1) await s.m.noop();
      await rtt(s.m);
      await s.m.echo(data);
      await s.pair.spmd({ size: 2, placement: [0, 1] }, s.r.pingpong, PINGPONG_BYTES, 5, 5);
    }
    for (let rep = 0; rep < REPS; rep++) {
      for (const [i, s] of setups.entries()) {
        const out = samples[i]!;
        out.connectMs.push(await connectMs(s.connect));
        const { p50, p99 } = await rtt(s.m);
        out.p50.push(p50);
        out.p99.push(p99);
        const t0 = performance.now();
        const back = (await s.m.echo(data)) as Float64Array;
        out.bulkMs.push(performance.now() - t0);
        if (back[back.length - 1] !== data[data.length - 1]) throw new Error("echo returned different data");
        const [r0] = await s.pair.spmd({ size: 2, placement: [0, 1] }, s.r.pingpong, PINGPONG_BYTES, 5, PINGPONG_ROUNDS);
        out.pingpongMBs.push((2 * PINGPONG_BYTES) / MB / (median(r0!.us) / 1e6));
      }
      progress(`tls rep ${rep + 1}/${REPS}: ${setups.map((s, i) => `${s.name} p50 ${samples[i]!.p50.at(-1)!.toFixed(1)} µs, bulk ${num(samples[i]!.bulkMs.at(-1)!)} ms`).join("; ")}`);
    }
    for (const s of setups) await Promise.all([s.cluster.close(), s.pair.close()]);

    const bulkRate = (ms: number): number => (2 * BYTES) / MB / (ms / 1000);
    const [plain, secure] = samples as [Sample, Sample];
    const row = (label: string, f: (x: Sample) => number[], digits: number, higherIsBetter = false): string[] => {
      const a = median(f(plain));
      const b = median(f(secure));
      return [label, `${num(a, digits)} (${spread(f(plain), digits)})`, `${num(b, digits)} (${spread(f(secure), digits)})`, ratio(higherIsBetter ? a / b : b / a)];
    };
    console.log(`## TLS: plain TCP vs mutual TLS\n`);
    console.log(table(
      ["", "plain TCP: median (range)", "mutual TLS: median (range)", "TLS cost (x)"],
      [
        row("connect a driver, ms", (x) => x.connectMs, 1),
        row("no-op call p50, µs", (x) => x.p50, 1),
        row("no-op call p99, µs", (x) => x.p99, 1),
        row(`\`echo(x)\` of ${BYTES / MB} MB, MB/s`, (x) => x.bulkMs.map(bulkRate), 0, true),
        row("rank ping-pong 1 MiB, MB/s", (x) => x.pingpongMBs, 0, true),
      ],
    ));
    console.log();
    console.log(footer([
      `Median over ${REPS} reps, plain and TLS alternating in one process; TLS cost = TLS time / plain time (for MB/s rows: plain rate / TLS rate).`,
      `Connect: \`Cluster.create\` to one running runner (TCP, TLS 1.3 with P-256 certificates both ways, token challenge), median of ${CONNECTS} per rep, then closed. No-op: ${num(CALLS)} sequential \`noop()\` calls on the thread's lane (\`local({ runners: 1, threads: 1 })\`). Bulk: \`echo(new Float64Array(${num(BYTES / 8)}))\` round trip, 2 × ${BYTES / MB} MB / time. Ping-pong: 2 × ${PINGPONG_BYTES} bytes / median round trip of ${PINGPONG_ROUNDS} (\`bench/fixtures/mpi-ranks.ts\` \`pingpong\`), 2 ranks on 2 runners × 1 thread, rank to rank over TCP or TLS.`,
      pinned ? "Placement: this process pinned to CPU 0, every runner process to CPU 1 (taskset), as in rtt.ts." : "Placement: not pinned.",
    ]));
    console.log();
  } finally {
    await removeDir(dir);
  }
}

await main();
