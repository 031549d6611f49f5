import { COMM_NULL, COMM_SELF, COMM_WORLD, CONGRUENT, GROUP_EMPTY, GROUP_NULL, IDENT, SIMILAR, UNDEFINED, UNEQUAL } from "./abi.ts";
import { Call } from "./call.ts";
import type { SplitReply } from "./messages.ts";
import type { RankState } from "./rank-state.ts";
import type { MpiImport } from "./side.ts";

// Communicators and groups. A group is a list of job ranks and lives only on the Wasm thread;
// a communicator lives on both: its members here, its comm() on the rank thread. Every new
// communicator comes from comm().split (Comm_dup and Comm_create are splits too).

function compare(a: readonly number[], b: readonly number[]): number {
  if (a.length === b.length && a.every((x, i) => x === b[i])) return IDENT;
  const s = new Set(a);
  return a.length === b.length && b.every((x) => s.has(x)) ? SIMILAR : UNEQUAL;
}

export function commImports(st: RankState): Record<string, MpiImport> {
  const group = (c: Call, h: number): readonly number[] => {
    if (h === GROUP_NULL) throw c.fail("MPI_GROUP_NULL is not a group");
    const g = st.groups.get(h);
    if (g === undefined) throw c.fail(`unknown group handle ${h}`);
    return g;
  };

  /** comm().split on the rank thread; the new handle written to `out` (MPI_COMM_NULL for none). */
  const split = (c: Call, comm: number, color: number, key: number, out: number): void => {
    const handle = st.comms.reserve();
    const r = c.ask<SplitReply>({ op: "split", comm, color, key, handle });
    if (r !== null) st.comms.set(handle, r);
    c.setInt(out, r === null ? COMM_NULL : handle, "newcomm");
  };

  return {
    MPI_Comm_rank: (comm, rank) => {
      const c = new Call(st, "MPI_Comm_rank").live();
      const info = c.comm(comm);
      c.setInt(rank!, info.rank, "rank");
      return 0;
    },
    MPI_Comm_size: (comm, size) => {
      const c = new Call(st, "MPI_Comm_size").live();
      const info = c.comm(comm);
      c.setInt(size!, info.size, "size");
      return 0;
    },
    MPI_Comm_split: (comm, color, key, newcomm) => {
      const c = new Call(st, "MPI_Comm_split").live();
      c.comm(comm);
      c.span("newcomm", newcomm!, 4);
      if (color! < 0 && color !== UNDEFINED) throw c.fail(`color ${color} is negative (and not MPI_UNDEFINED)`);
      split(c, comm, color!, key!, newcomm!);
      return 0;
    },
    MPI_Comm_dup: (comm, newcomm) => {
      const c = new Call(st, "MPI_Comm_dup").live();
      const info = c.comm(comm);
      c.span("newcomm", newcomm!, 4);
      split(c, comm, 0, info.rank, newcomm!);
      return 0;
    },
    MPI_Comm_create: (comm, grp, newcomm) => {
      const c = new Call(st, "MPI_Comm_create").live();
      const info = c.comm(comm);
      const g = group(c, grp!);
      const inComm = new Set(info.members);
      const stray = g.find((r) => !inComm.has(r));
      if (stray !== undefined) throw c.fail(`the group holds world rank ${stray}, which is not in the communicator`);
      c.span("newcomm", newcomm!, 4);
      const at = g.indexOf(st.side.rank);
      split(c, comm, at < 0 ? UNDEFINED : 0, at, newcomm!);
      return 0;
    },
    MPI_Comm_compare: (a, b, result) => {
      const c = new Call(st, "MPI_Comm_compare").live();
      const x = c.comm(a);
      const y = c.comm(b!);
      const r = a === b ? IDENT : compare(x.members, y.members);
      c.setInt(result!, r === IDENT && a !== b ? CONGRUENT : r, "result");
      return 0;
    },
    MPI_Comm_free: (comm) => {
      const c = new Call(st, "MPI_Comm_free").live();
      const h = c.int(comm, "comm");
      c.comm(h);
      if (h === COMM_WORLD || h === COMM_SELF) throw c.fail("MPI_COMM_WORLD and MPI_COMM_SELF cannot be freed");
      c.ask({ op: "comm_free", comm: h });
      st.comms.delete(h);
      c.setInt(comm, COMM_NULL, "comm");
      return 0;
    },
    MPI_Comm_group: (comm, out) => {
      const c = new Call(st, "MPI_Comm_group").live();
      const info = c.comm(comm);
      c.span("group", out!, 4);
      c.setInt(out!, st.groups.add(info.members), "group");
      return 0;
    },
    MPI_Group_size: (g, size) => {
      const c = new Call(st, "MPI_Group_size");
      c.setInt(size!, group(c, g).length, "size");
      return 0;
    },
    MPI_Group_rank: (g, rank) => {
      const c = new Call(st, "MPI_Group_rank");
      const at = group(c, g).indexOf(st.side.rank);
      c.setInt(rank!, at < 0 ? UNDEFINED : at, "rank");
      return 0;
    },
    MPI_Group_free: (g) => {
      const c = new Call(st, "MPI_Group_free");
      const h = c.int(g, "group");
      group(c, h);
      if (h !== GROUP_EMPTY) st.groups.delete(h);
      c.setInt(g, GROUP_NULL, "group");
      return 0;
    },
    MPI_Group_incl: (g, n, ranks, out) => {
      const c = new Call(st, "MPI_Group_incl");
      const from = group(c, g);
      const picked = c.ints(ranks!, n!, "ranks");
      c.span("newgroup", out!, 4);
      const seen = new Set<number>();
      for (const r of picked) {
        if (!Number.isInteger(r) || r < 0 || r >= from.length) throw c.fail(`rank ${r} is not in a group of ${from.length}`);
        if (seen.has(r)) throw c.fail(`rank ${r} appears twice`);
        seen.add(r);
      }
      c.setInt(out!, st.groups.add(picked.map((r) => from[r]!)), "newgroup");
      return 0;
    },
    MPI_Group_range_incl: (g, n, ranges, out) => {
      const c = new Call(st, "MPI_Group_range_incl");
      const from = group(c, g);
      const triples = c.ints(ranges!, 3 * c.count(n!, "n"), "ranges");
      c.span("newgroup", out!, 4);
      const picked: number[] = [];
      const seen = new Set<number>();
      for (let i = 0; i < n!; i++) {
        const [first, last, stride] = [triples[3 * i]!, triples[3 * i + 1]!, triples[3 * i + 2]!];
        if (stride === 0) throw c.fail(`range ${i} has stride 0`);
        for (let r = first; stride > 0 ? r <= last : r >= last; r += stride) {
          if (r < 0 || r >= from.length) throw c.fail(`range ${i} reaches rank ${r}, not in a group of ${from.length}`);
          if (seen.has(r)) throw c.fail(`rank ${r} appears twice in the ranges`);
          seen.add(r);
          picked.push(r);
        }
      }
      c.setInt(out!, st.groups.add(picked.map((r) => from[r]!)), "newgroup");
      return 0;
    },
    MPI_Group_translate_ranks: (g1, n, ranks1, g2, ranks2) => {
      const c = new Call(st, "MPI_Group_translate_ranks");
      const a = group(c, g1);
      const b = group(c, g2!);
      const rs = c.ints(ranks1!, n!, "ranks1");
      const out = c.span("ranks2", ranks2!, 4 * n!);
      const translated = rs.map((r) => {
        if (r === -2) return -2; // MPI_PROC_NULL translates to itself
        if (!Number.isInteger(r) || r < 0 || r >= a.length) throw c.fail(`rank ${r} is not in group1 (size ${a.length})`);
        const at = b.indexOf(a[r]!);
        return at < 0 ? UNDEFINED : at;
      });
      c.setInts(out, translated);
      return 0;
    },
    MPI_Group_compare: (g1, g2, result) => {
      const c = new Call(st, "MPI_Group_compare");
      c.setInt(result!, compare(group(c, g1), group(c, g2!)), "result");
      return 0;
    },
  };
}
