import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster } from "../src/index.ts";
import { startLocalRunners, type LocalRunners } from "../src/driver/local.ts";
import { cleanEnv, fixture, runCli } from "./helpers.ts";

type Work = typeof import("./fixtures/dashboard-work.ts");

/** A loopback port nothing listens on (taken, then let go). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe("`strand status` and `strand top` against two runners", () => {
  const token = "status-test-token";
  let runners: LocalRunners;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    runners = await startLocalRunners({ runners: 2, threads: 2, token });
    env = cleanEnv({ STRAND_TOKEN: token });
    // Some work first, so that the counters say something: 3 calls, 1 failed, 1 object.
    await using c = await Cluster.create({ runners: runners.addresses, token });
    const w = await c.import<Work>(fixture("dashboard-work.ts"));
    await Promise.all([w.crunch(1), w.crunch(1)]);
    await expect(w.explode("status")).rejects.toThrow();
  });
  afterAll(() => runners.stop());

  it("status prints a row per runner and a total, and exits 0", async () => {
    const cli = runCli(["status", "--runners", runners.addresses.join(",")], env);
    expect(await cli.exit).toBe(0);
    const lines = cli.stdout().trimEnd().split("\n");
    expect(lines[0]).toMatch(/^RUNNER\s+THREADS\s+RUNNING\s+CPU\s+RSS\s+OBJECTS\s+BYTES\s+CALLS\s+FAILURES\s+ACTORS$/);
    for (const [i, address] of runners.addresses.entries()) {
      const cells = lines[1 + i]!.split(/\s{2,}/);
      expect(cells[0]).toBe(address);
      expect(cells[1]).toBe("2"); // threads
      expect(Number(cells[3])).toBeGreaterThanOrEqual(0); // CPU in cores
      expect(cells[4]).toMatch(/^\d+(\.\d)? MiB$/); // RSS
      expect(cells[9]).toBe("0"); // actors
    }
    const calls = lines.slice(1, 3).map((l) => l.split(/\s{2,}/));
    expect(calls.reduce((s, c) => s + Number(c[7]), 0)).toBe(3);
    expect(calls.reduce((s, c) => s + Number(c[8]), 0)).toBe(1);
    expect(lines.at(-1)).toMatch(/^2 of 2 runners up · 0 running on 4 threads · .* 3 calls, 1 failed$/);
    expect(cli.stderr()).toBe("");
  });

  it("status with a runner down: the others still shown, the down one named, exit 1", async () => {
    const down = `127.0.0.1:${await closedPort()}`;
    const cli = runCli(["status", "--runners", `${runners.addresses[0]},${down}`], env);
    expect(await cli.exit).toBe(1);
    expect(cli.stdout()).toContain(runners.addresses[0]);
    expect(cli.stdout()).toMatch(new RegExp(`^${down}  unreachable: .*ECONNREFUSED`, "m"));
    expect(cli.stderr()).toMatch(new RegExp(`strand status: 1 of 2 runners unreachable: ${down} \\(.*ECONNREFUSED`));
  });

  it("status with the wrong token says so", async () => {
    const cli = runCli(["status", "--runners", runners.addresses[0]!], cleanEnv({ STRAND_TOKEN: "wrong" }));
    expect(await cli.exit).toBe(1);
    expect(cli.stderr()).toMatch(/unreachable: .*token/i);
  });

  it("status without runners says how to name them", async () => {
    const cli = runCli(["status"], cleanEnv());
    expect(await cli.exit).toBe(1);
    expect(cli.stderr()).toMatch(/--runners/);
  });

  it("top into a pipe prints plain lines, a line per runner per refresh, then stops after -n", async () => {
    const cli = runCli(["top", "--runners", runners.addresses.join(","), "--interval", "300", "-n", "3"], env);
    expect(await cli.exit).toBe(0);
    const out = cli.stdout();
    expect(out).not.toContain("\x1b"); // no escape codes into a pipe
    const lines = out.trimEnd().split("\n");
    expect(lines).toHaveLength(6);
    for (const [i, l] of lines.entries()) {
      expect(l).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+Z ${runners.addresses[i % 2]!.replace(/\./g, "\\.")} state=up threads=2 running=\\d+ cpu=(-|\\d+\\.\\d\\d) rss=\\d+ heap=\\d+ objects=\\d+ bytes=\\d+ calls=\\d+ calls_per_s=(-|\\d+\\.\\d) failures=\\d+ actors=0 actor_mailbox=0$`));
    }
    // The first refresh has one report of each runner: no CPU nor rate yet. Later ones are
    // drawn once every runner has reported again, so they have both.
    expect(lines[0]).toMatch(/cpu=- .* calls_per_s=-/);
    for (const l of lines.slice(2)) expect(l).toMatch(/cpu=\d+\.\d\d .* calls_per_s=\d+\.\d/);
  });
});
