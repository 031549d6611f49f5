import { expect } from "vitest";
import {
  ChannelBrokenError, JobAbortedError, ObjectLostError, RunnerLostError, type Cluster, type Remote,
} from "../../src/index.ts";
import * as here from "../fixtures/faults.ts";
import { fixture, take } from "../helpers.ts";
import type { Hosts } from "./hosts.ts";
import { describeTally, noHang, range, since, tally, track, type Settled } from "./outcomes.ts";
import { PipeStream } from "./pipe-stream.ts";

// The four columns of the fault matrix: what is running when a fault hits. Each workload
// starts its work, names the host the fault should hit (`victim`), and once told when the
// fault happened, waits for everything it started to settle and checks every outcome: the
// right value or a typed error, never a hang; then that the cluster still serves.

type F = typeof here;

export interface CellResult {
  outcome: string;
  detectMs: number | undefined;
  settleMs: number;
}

export interface CellRun {
  victim: number;
  settled(faultAt: number): Promise<CellResult>;
}

export interface WorkloadOptions {
  /** A degraded link: fewer round trips over it, or the cell takes minutes. */
  light?: boolean;
}

export type Workload = (c: Cluster, hosts: Hosts, o: WorkloadOptions) => Promise<CellRun>;

/** The fixture, loaded by every runner first: later plain calls take the threads' lanes too. */
async function imported(c: Cluster): Promise<Remote<F>> {
  const m = await c.import<F>(fixture("faults.ts"));
  await Promise.all(range(2 * c.runners.length).map(() => m.square(0, 0)));
  return m;
}

const lastAt = (xs: readonly Settled<unknown>[]): number => Math.max(...xs.map((x) => x.at));

/**
 * 12 calls of 200 ms over three runners, taken in turn: the victim runs some of each kind
 * when it fails. Odd calls keep the default retry policy: with two runners left they must
 * all give the right value. Even ones say `retries: 0`: those the fault hits must fail with
 * RunnerLostError naming the victim, which also times the detection.
 */
export const plainCalls: Workload = async (c, hosts) => {
  const victim = 1;
  const m = await imported(c);
  const n = 12;
  const once = m.square.with({ retries: 0 });
  const calls = range(n).map((x) => track(x % 2 === 0 ? once(x, 200) : m.square(x, 200)));
  expect(c.runners[victim]!.inFlight).toBeGreaterThanOrEqual(2);
  const resentBefore = c.stats.resent;
  return {
    victim,
    async settled(t0) {
      const outcomes = await noHang(Promise.all(calls), "plain calls");
      const t = tally(outcomes, (v, i) => expect(v.value).toBe(i * i), [RunnerLostError]);
      outcomes.forEach((x, i) => {
        if (x.ok) return;
        expect(i % 2, `call ${i} has retries left: it must have been run again`).toBe(0);
        expect((x.error as RunnerLostError).runner).toBe(hosts.addresses[victim]);
      });
      const resent = c.stats.resent - resentBefore;
      const settleMs = lastAt(outcomes) - t0;
      const after = await noHang(Promise.all(range(6).map((x) => m.square(x, 0))), "calls after the fault");
      expect(after.map((r) => r.value)).toEqual(range(6).map((x) => x * x));
      const lost = t.errors.get("RunnerLostError") ?? 0;
      const outcome = `${t.correct}/${n} right values (${resent} run again elsewhere)` + (lost > 0 ? `, ${lost} RunnerLostError (retries: 0)` : "");
      return { outcome, detectMs: since(t0, t.firstErrorAt), settleMs };
    },
  };
};

/**
 * Objects held on the victim: A from put (cannot be remade), B made by a task (can be),
 * C made by a task from A (runs next to A, and cannot be remade once A is gone). Readers of
 * each are running when the fault hits.
 */
export const heldRefs: Workload = async (c) => {
  const m = await imported(c);
  const n = 20_000; // 160 KB each: kept on the runners, not inline in the driver
  const a = here.sequence(1, n);
  const sums = { A: await here.slowSum(a, 0), B: await here.slowSum(here.sequence(2, n), 0), C: await here.slowSum(here.scaled(a, 3), 0) };
  const before = await c.runnerStats();
  const A = await c.put(a);
  const victim = (await c.runnerStats()).findIndex((s, i) => s.objects > before[i]!.objects); // the runner holding A
  expect(victim).toBeGreaterThanOrEqual(0);
  const B = m.sequence.ref(2, n);
  const C = m.scaled.ref(A, 3);
  expect(await m.slowSum(C, 0)).toBe(sums.C);
  expect(await m.slowSum(B, 0)).toBe(sums.B);
  const order = ["A", "C", "B", "A", "C", "B"] as const;
  const refs = { A, B, C };
  const readers = order.map((k) => track(m.slowSum(refs[k], 300)));
  return {
    victim,
    async settled(t0) {
      const during = await noHang(Promise.all(readers), "readers of the held objects");
      const afterA = await noHang(track(c.get(A)), "get(A)");
      const afterC = await noHang(track(c.get(C)), "get(C)");
      const sumB = await noHang(track(m.slowSum(B, 0)), "a call given B");
      const all = [...during, afterA, afterC, sumB];
      const allowed = [RunnerLostError, ObjectLostError];
      const t = tally(during, (v, i) => expect(v).toBe(sums[order[i]!]), allowed);
      const tA = tally([afterA], (v) => expect(v).toEqual(a), allowed);
      const tC = tally([afterC], (v) => expect(v).toEqual(here.scaled(a, 3)), allowed);
      // A lost put is lost by name; B came from a task with no inputs: it is always remade.
      if (!afterA.ok) expect((afterA.error as ObjectLostError).objectId).toBe(A.id);
      expect(sumB.ok, "B is remade from its task").toBe(true);
      expect(sumB.ok && sumB.value).toBe(sums.B);
      const got = await noHang(c.get(B), "get(B)");
      expect(got).toEqual(here.sequence(2, n));
      const one = (x: Settled<unknown>): string => (x.ok ? "right value" : (x.error as Error).name);
      const outcome = `readers in flight: ${describeTally(t, order.length)}; then put A: ${one(afterA)}, task C (from A): ${one(afterC)}, task B: right value`;
      const firstErrorAt = Math.min(t.firstErrorAt ?? Infinity, tA.firstErrorAt ?? Infinity, tC.firstErrorAt ?? Infinity);
      return { outcome, detectMs: since(t0, Number.isFinite(firstErrorAt) ? firstErrorAt : undefined), settleMs: lastAt(all) - t0 };
    },
  };
};

/**
 * Three relays (one per runner: goroutines go to the least loaded one), each passing a
 * stream of numbers from the driver back to it. The victim's relay carries traffic when
 * the fault hits; the others must not notice.
 */
export const channelTraffic: Workload = async (c, hosts, o) => {
  const victim = 1;
  const m = await imported(c);
  const pipes = range(3).map(() => {
    const hello = c.chan<number>(1);
    const inp = c.chan<number>();
    const out = c.chan<number>();
    return { hello, stream: new PipeStream(inp, out), relay: track(m.relay(hello, inp, out)) };
  });
  const hostOf = await noHang(Promise.all(pipes.map(async (p) => hosts.indexOfPid((await p.hello.recv()).value!))), "relays' hellos");
  expect(hostOf, "a relay runs on every host").toEqual([0, 1, 2]);
  for (const p of pipes) p.stream.start();
  await noHang(Promise.all(pipes.map((p) => p.stream.reached(5))), "traffic through every relay");
  const more = o.light ? 3 : 20;
  return {
    victim,
    async settled(t0) {
      // Every pipe either breaks or carries `more` values after the fault; then the streams end.
      const marks = pipes.map((p) => p.stream.received + more);
      await noHang(Promise.all(pipes.map((p, i) => Promise.race([p.stream.broken, p.stream.reached(marks[i]!)]))), "relays after the fault");
      const ends = await noHang(Promise.all(pipes.map(async (p) => ({ ...(await p.stream.stop()), relay: await p.relay }))), "streams' ends");
      let complete = 0;
      let broken = 0;
      let lost = 0;
      let firstBreak: number | undefined;
      ends.forEach((e, i) => {
        // In order, nothing twice, no gaps: values 0..k-1.
        expect(e.got).toEqual(range(e.got.length));
        if (e.receiver.ok && e.sender.ok && e.relay.ok) {
          expect(e.relay.value).toBe(e.got.length);
          expect(e.sent).toBe(e.got.length);
          complete++;
          return;
        }
        expect(i, `only the victim's relay may break (relay ${i})`).toBe(victim);
        expect(e.receiver.ok ? undefined : e.receiver.error).toBeInstanceOf(ChannelBrokenError);
        if (!e.sender.ok) expect(e.sender.error).toBeInstanceOf(ChannelBrokenError);
        if (!e.relay.ok) expect([RunnerLostError, ChannelBrokenError].some((k) => e.relay.ok === false && e.relay.error instanceof k)).toBe(true);
        // A value the relay had taken from `inp` dies with it: at most one.
        expect(e.sent - e.got.length).toBeLessThanOrEqual(1);
        lost += e.sent - e.got.length;
        broken++;
        firstBreak = Math.min(firstBreak ?? Infinity, e.receiver.at);
      });
      const outcome = `${complete}/3 relays complete` + (broken > 0 ? `, ${broken} ChannelBrokenError (values in order, ${lost} taken by the dead relay)` : "");
      const settleMs = Math.max(...ends.map((e) => Math.max(e.receiver.at, e.sender.at, e.relay.at))) - t0;
      return { outcome, detectMs: since(t0, firstBreak), settleMs };
    },
  };
};

/** An SPMD job with one rank per runner, in a loop of allreduces when the fault hits. */
export const spmdJob: Workload = async (c, _hosts, o) => {
  const victim = 1;
  const m = await imported(c);
  const ready = c.chan<number>(3);
  const rounds = o.light ? 6 : 30;
  const job = track(c.spmd({ size: 3, placement: [0, 1, 2] }, m.allreduceRounds, rounds, 50, ready));
  expect((await noHang(take(ready, 3), "ranks' hellos")).sort()).toEqual([0, 1, 2]);
  return {
    victim,
    async settled(t0) {
      const r = await noHang(job, "the job");
      let outcome: string;
      if (r.ok) {
        expect(r.value).toEqual([rounds * 6, rounds * 6, rounds * 6]);
        outcome = "job completed, right result on every rank";
      } else {
        expect(r.error).toBeInstanceOf(JobAbortedError);
        const { rank, reason } = r.error as JobAbortedError;
        // placement [0, 1, 2]: rank i on host i. A rank that cannot reach a peer names the
        // peer, and over a bad link (not a dead host) the victim may be the one that says so.
        if (rank !== victim) expect(reason).toMatch(new RegExp(`^rank ${victim} cannot reach rank ${rank}:`));
        outcome = `JobAbortedError (rank ${rank}${rank === victim ? "" : `, reported by rank ${victim}`})`;
      }
      // The cluster runs the next job on the runners it still has, away from the victim: its
      // link may still be bad (a degraded link stays so), where a rank's handshake can time out.
      const live = c.runners.flatMap((x, i) => (x.alive && i !== victim ? [i] : []));
      const again = await noHang(c.spmd({ size: live.length, placement: live }, m.allreduceRounds, 2, 0, c.chan<number>(live.length)), "the next job");
      const perRound = (live.length * (live.length + 1)) / 2;
      expect(again).toEqual(live.map(() => 2 * perRound));
      return { outcome, detectMs: r.ok ? undefined : r.at - t0, settleMs: r.at - t0 };
    },
  };
};

export const WORKLOADS: readonly [string, Workload][] = [
  ["plain calls", plainCalls],
  ["calls with Refs held there", heldRefs],
  ["channel traffic through it", channelTraffic],
  ["an SPMD job", spmdJob],
];
