import net from "node:net";
import { describe, expect, it } from "vitest";
import { Cluster, RunnerDaemon } from "../src/index.ts";
import { fixture, silentLogger } from "./helpers.ts";

type M = typeof import("./fixtures/math.ts");

// A runner accepts a bounded number of connections per port; one more is closed at once,
// and the connected driver keeps working.
describe("connection limit", () => {
  it("closes connections beyond --max-connections and keeps serving the others", async () => {
    const daemon = await RunnerDaemon.start({ port: 0, threads: 1, token: "t", maxConnections: 1, logger: silentLogger() });
    try {
      await using cluster = await Cluster.create({ runners: [daemon.address], token: "t" });
      const m = await cluster.import<M>(fixture("math.ts"));
      expect(await m.add(1, 2)).toBe(3);
      const [host, port] = daemon.address.split(":");
      const extra = net.connect({ host, port: Number(port) });
      await new Promise<void>((resolve) => extra.once("close", () => resolve()));
      expect(await m.add(2, 3)).toBe(5);
    } finally {
      await daemon.close();
    }
  });
});
