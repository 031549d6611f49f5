import { afterAll, expect, it } from "vitest";
import { AuthError, Cluster, slurm } from "../src/index.ts";
import { fixture, rejectionOf, removeDir, silentLogger, tempDir } from "./helpers.ts";
import { describeSlurm, slurmCommand, whenRunners } from "./slurm/slurm.ts";
import { makeTestPki } from "./tls-certs.ts";

// slurm() with mutual TLS: the head, the runner jobs (their PEM in the job's environment, as
// the token) and the driver share one certificate and CA; a driver without one is refused.

describeSlurm("slurm(): TLS", (s) => {
  let dir: string | undefined;
  let cluster: Cluster | undefined;
  afterAll(async () => {
    await cluster?.close();
    if (dir !== undefined) await removeDir(dir);
  }, 120_000);

  it("runs calls on runner jobs over mutual TLS, and refuses a driver without a certificate", async () => {
    dir = await tempDir("strand-slurm-tls-");
    const pki = await makeTestPki(dir);
    // The test certificate names 127.0.0.1: the head listens there, and the runners reach it from there.
    cluster = await slurm({ jobs: 1, token: "slurm-tls-token", tls: { ...pki.runner, ca: pki.ca }, host: "127.0.0.1", jobName: "strand-test-tls", logDirectory: dir, pollMs: 500 });
    const [job] = await whenRunners(cluster, "a runner over TLS", (j) => j.length === 1);
    const work = await cluster.import<typeof import("./fixtures/slurm-work.ts")>(fixture("slurm-work.ts"));
    expect(await work.slowSquare(6, 1)).toEqual({ value: 36, job });
    const head = /--join (\S+)/.exec(await slurmCommand(s, "scontrol", ["write", "batch_script", job!, "-"]))?.[1];
    expect(head).toMatch(/^127\.0\.0\.1:\d+$/);
    const plain = await rejectionOf(Cluster.create({ runners: [], head: head!, token: "slurm-tls-token", logger: silentLogger() }));
    expect(plain).toBeInstanceOf(AuthError);
  }, 120_000);
});
