import { afterEach, describe, expect, it } from "vitest";
import { Cluster } from "../src/index.ts";
import { cleanEnv, fixture, runCli, silentLogger } from "./helpers.ts";
import { HeadCluster, liveRunners, TOKEN } from "./membership/head-cluster.ts";

const procs = new HeadCluster();
afterEach(() => procs.stopAll());

describe("`strand head` and the commands that take --head", () => {
  it("a head refuses to listen off loopback without a token, saying why", async () => {
    const cli = runCli(["head", "--listen", "0.0.0.0:0"], cleanEnv());
    expect(await cli.exit).toBe(1);
    expect(cli.stderr()).toMatch(/refusing to listen on 0\.0\.0\.0 without a token/);
  });

  it("a runner with --head-timeout drains and exits when no head answers for that long", async () => {
    const nobody = "127.0.0.1:9"; // discard: nothing listens there
    const cli = runCli(["runner", "--listen", "127.0.0.1:0", "--threads", "1", "--join", nobody, "--head-timeout", "1"], cleanEnv({ STRAND_TOKEN: TOKEN }));
    await cli.line(/^listening on /);
    expect(await cli.exit).toBe(0);
    expect(cli.stderr()).toMatch(/no head for too long: stopping/);
  });

  it("`strand status --head` shows the runners registered there; `strand run --head` runs a script on them", async () => {
    const head = await procs.head();
    const r = await procs.runners(head.address, 2);
    const env = cleanEnv({ STRAND_TOKEN: TOKEN });
    // The runners register just after they listen: wait until the head has both, as a driver hears it.
    {
      await using watcher = await Cluster.create({ runners: [], head: head.address, token: TOKEN, logger: silentLogger() });
      await liveRunners(watcher, 2);
    }
    const status = runCli(["status", "--head", head.address], env);
    expect(await status.exit).toBe(0);
    const rows = status.stdout().split("\n").filter((l) => /^127\.0\.0\.1:/.test(l)).map((l) => l.split(/\s{2,}/)[0]);
    expect(new Set(rows)).toEqual(new Set(r.addresses));
    const run = runCli(["run", "--head", head.address, fixture("driver-script.ts").pathname], env);
    expect(await run.exit, run.stderr()).toBe(0);
    expect(run.stdout()).toMatch(/^sum 5\nrunners 2 env undefined used 2\n/);
  });
});
