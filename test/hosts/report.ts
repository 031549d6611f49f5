import { appendFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { HeartbeatOptions } from "../../src/protocol/heartbeat.ts";
import { boundMs } from "./heartbeats.ts";

/** Where each cell's outcome line goes (JSON lines); test/hosts/table.ts turns them into docs/reliability.md's table. */
export const reportPath = (): string => process.env.STRAND_FAULTS_REPORT ?? path.join(os.tmpdir(), "strand-faults.jsonl");

export interface CellRecord {
  row: string;
  cell: string;
  outcome: string;
  /** From the fault to the first typed error the caller saw (undefined: none, everything succeeded). */
  detectMs: number | undefined;
  /** From the fault until everything the cell started settled (so it includes the work's own run time). */
  settleMs: number;
  heartbeat: HeartbeatOptions;
}

/** Prints the cell's outcome and appends it to the report. */
export function record(r: CellRecord): void {
  const bound = boundMs(r.heartbeat);
  const line = { ...r, boundMs: bound, detectMs: r.detectMs === undefined ? undefined : Math.round(r.detectMs), settleMs: Math.round(r.settleMs), at: new Date().toISOString() };
  const ms = (x: number | undefined): string => (x === undefined ? "-" : `${Math.round(x)} ms`);
  console.log(`[faults] ${r.row} | ${r.cell} | ${r.outcome} | detected ${ms(r.detectMs)} | settled ${ms(r.settleMs)} | 2x bound ${2 * bound} ms`);
  appendFileSync(reportPath(), `${JSON.stringify(line)}\n`);
}
