import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture } from "./helpers.ts";
import { useCluster } from "./use-cluster.ts";

// The dashboard in a real browser (Debian's chromium, driven by playwright-core) while a job
// runs: both runners, a running function's progress as it moves, a failed call's remote stack,
// the task stream naming what ran. Waits are on what the page shows, never on a clock.
// STRAND_DASHBOARD_SCREENSHOT=docs/dashboard.png saves what the page looked like at the end.

type Work = typeof import("./fixtures/dashboard-work.ts");
type Actors = typeof import("./fixtures/actor-observe.ts");

const CHROMIUM = process.env.STRAND_CHROMIUM ?? "/usr/bin/chromium";
const missing = !existsSync(CHROMIUM);
const inCi = process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false";

interface Box { x: number; y: number; w: number; h: number; name: string; runner: string; thread: number }

if (missing && !inCi) {
  console.warn(`dashboard-browser: skipped, no chromium at ${CHROMIUM} (apt-get install chromium, or set STRAND_CHROMIUM)`);
}

describe.skipIf(missing && !inCi)("the dashboard in a browser", () => {
  const t = useCluster<{ w: Work }>({ runners: 2, threads: 2, dashboard: { listen: "127.0.0.1:0", quiet: true } }, { w: "dashboard-work.ts" });
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    if (missing) throw new Error(`chromium is required in CI and is missing at ${CHROMIUM}: .ci/run installs it with apt-get`);
    browser = await chromium.launch({ executablePath: CHROMIUM });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(20_000);
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** The cell `cell` of the function's progress row, once it reads `text`. */
  const progress = (fn: string, cell: string, text: string): Promise<void> =>
    page.locator(`#progress tr[data-function="${fn}"] td.${cell}`).filter({ hasText: new RegExp(`^${text}$`) }).waitFor();

  it("shows both runners, a running function's progress as it moves, and a failed call with its remote stack", async () => {
    const consoleErrors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(e.message));
    await page.goto(t.cluster.dashboardUrl!);
    await page.locator("#live[data-state=live]").waitFor();

    // Both runners, each up and reporting.
    for (const r of t.cluster.runners) {
      const row = page.locator(`#runners tr[data-runner="${r.address}"]`);
      await row.locator("td.state", { hasText: "up" }).waitFor();
      await row.locator("td.heard", { hasText: "now" }).waitFor();
    }

    // Four calls that run until the test lets them go: the page shows them running...
    const gate = t.cluster.chan<number>();
    const steps = Array.from({ length: 4 }, () => t.w.step(gate));
    await progress("step", "running", "4");
    await progress("step", "submitted", "4");
    await page.locator("#summary", { hasText: /· 4 running on 4 threads ·/ }).waitFor();
    // ...then finishing, two at a time.
    await gate.send(1);
    await gate.send(2);
    await progress("step", "done", "2");
    await progress("step", "running", "2");
    await gate.close();
    expect((await Promise.all(steps)).sort()).toEqual([-1, -1, 1, 2]);
    await progress("step", "done", "4");
    await progress("step", "running", "0");
    await page.locator("#summary", { hasText: /· 0 running on 4 threads ·/ }).waitFor();

    // A failed call: its message, and its remote stack pointing into the module.
    await expect(t.w.explode("seen in the browser")).rejects.toThrow(/seen in the browser/);
    const error = page.locator('#errors li[data-function="explode"]');
    await error.locator(".message", { hasText: "RangeError: dashboard test: seen in the browser" }).waitFor();
    await error.locator("summary").click();
    expect(await error.locator("pre.stack").textContent()).toMatch(/at explode \(.*dashboard-work\.ts:\d+/);
    await progress("explode", "failed", "1");

    // Some more work for the rest of the page: calls on every thread, a channel holding
    // values, an SPMD job.
    const held = t.cluster.chan<number>(8);
    await held.send(7);
    await held.send(8);
    await held.send(9);
    for (let round = 0; round < 3; round++) await Promise.all(Array.from({ length: 8 }, (_, i) => t.w.crunch(30 + 25 * ((i + round) % 4))));
    expect(await t.cluster.spmd(4, t.w.ring)).toEqual([6, 6, 6, 6]);
    await progress("crunch", "done", "24");
    await page.locator(`#channels tr[data-channel] td.buffered`, { hasText: /^3$/ }).waitFor();
    const job = page.locator("#jobs tr[data-job]", { hasText: "ring" });
    await job.locator(".state-done").waitFor();
    expect(await job.locator(".ranks > span.done").count()).toBe(4);

    // The task stream: one row per runner thread, every bar named; hovering one names its function.
    await page.locator('#legend [data-function="crunch"]').waitFor();
    await page.waitForFunction(() => {
      const d = (globalThis as unknown as { strandDashboard: { boxes(): { name: string }[] } }).strandDashboard;
      const names = new Set(d.boxes().map((b) => b.name));
      return ["step", "crunch", "explode", "ring"].every((n) => names.has(n));
    });
    const boxes = await page.evaluate(() => (globalThis as unknown as { strandDashboard: { boxes(): Box[] } }).strandDashboard.boxes());
    expect(new Set(boxes.map((b) => b.runner))).toEqual(new Set(t.cluster.runners.map((r) => r.address)));
    expect(new Set(boxes.map((b) => `${b.runner}/${b.thread}`)).size).toBeGreaterThanOrEqual(3);
    const widest = boxes.filter((b) => b.name === "step").sort((a, b) => b.w - a.w)[0]!;
    const canvas = (await page.locator("#stream-canvas").boundingBox())!;
    await page.mouse.move(canvas.x + widest.x + widest.w / 2, canvas.y + widest.y + widest.h / 2);
    await page.locator("#tip:not([hidden]) b", { hasText: /^step$/ }).waitFor();

    // An opened stack stays open as pictures keep coming.
    await progress("crunch", "done", "24");
    const pictures = await page.evaluate(() => (globalThis as unknown as { strandDashboard: { picture(): { at: number } } }).strandDashboard.picture().at);
    await page.waitForFunction((at) => (globalThis as unknown as { strandDashboard: { picture(): { at: number } } }).strandDashboard.picture().at > at, pictures);
    expect(await error.locator("details").getAttribute("open")).not.toBeNull();

    const shot = process.env.STRAND_DASHBOARD_SCREENSHOT;
    if (shot !== undefined && shot !== "") {
      await page.selectOption("#span-window", "10000");
      await page.mouse.move(0, 0);
      await page.screenshot({ path: shot, fullPage: true });
    }
    expect(consoleErrors).toEqual([]);
    await held.close();
  }, 90_000);

  it("lists actors: class and name, runner, state, mailbox depth, calls and restarts, as they fill, drain and end", async () => {
    await page.goto(t.cluster.dashboardUrl!);
    await page.locator("#live[data-state=live]").waitFor();
    const a = await t.cluster.import<Actors>(fixture("actor-observe.ts"));
    const door = await a.Turnstile.spawn.with({ name: "door" })();
    const known = t.cluster.stats.actors.find((x) => x.name === "door")!;
    const row = page.locator(`#actors tr[data-actor="${known.id}"]`);
    const cell = (c: string, text: string): Promise<void> => row.locator(`td.${c}`).filter({ hasText: new RegExp(`^${text}$`) }).waitFor();

    // One call runs, waiting on the gate; two wait in the mailbox.
    const gate = t.cluster.chan<number>();
    const passes = [1, 2, 3].map(() => door.pass(gate));
    for (const p of passes) p.catch(() => {}); // awaited below; a failure before that is the test's, not an unhandled one
    await cell("mailbox", "2");
    await cell("running", "1");
    await cell("calls", "3");
    expect(await row.locator("td.name").textContent()).toBe('Turnstile "door"');
    expect(await row.locator("td.runner").textContent()).toBe(known.runner);
    expect(await row.locator("td.state").textContent()).toBe("alive");
    expect(await row.locator("td.restarts").textContent()).toBe("0");
    await page.locator("#actors-count", { hasText: /^1 alive · 2 calls waiting$/ }).waitFor();
    await progress("Turnstile.pass", "running", "3"); // sent to the runner: running as far as this driver knows

    for (const v of [1, 2, 3]) await gate.send(v);
    expect(await Promise.all(passes)).toEqual([1, 2, 3]);
    await cell("mailbox", "0");
    await cell("running", "0");
    await progress("Turnstile.pass", "done", "3");

    await door.kill();
    await cell("state", "dead");
    await page.locator("#actors-count", { hasText: /^0 alive · 0 calls waiting$/ }).waitFor();
  }, 60_000);
});
