import { absolute, relative, type Group } from "../group.ts";

// Binomial trees (MPICH's short-message algorithms): log2(size) rounds, each rank talking
// to at most one parent and log2(size) children. Ranks are renumbered so the root is 0.

/** The parent in the tree (relative numbering), and the mask at which this rank joins it. */
function parentOf(vr: number, size: number): { parent: number; mask: number } {
  let mask = 1;
  while (mask < size) {
    if ((vr & mask) !== 0) return { parent: vr - mask, mask };
    mask <<= 1;
  }
  return { parent: -1, mask }; // the root
}

/** Root's value to everyone, down the tree. */
export async function binomialBcast<T>(g: Group, value: T, root: number): Promise<T> {
  const vr = relative(g.rank, root, g.size);
  const { parent, mask: joined } = parentOf(vr, g.size);
  if (parent >= 0) value = await g.recv<T>(absolute(parent, root, g.size));
  const sends: Promise<void>[] = [];
  for (let mask = joined >> 1; mask > 0; mask >>= 1) {
    if (vr + mask < g.size) sends.push(g.send(absolute(vr + mask, root, g.size), value));
  }
  await Promise.all(sends);
  return value;
}

/** Everyone's values combined up the tree; the lower ranks' value is always on the left. */
export async function binomialReduce<T>(g: Group, value: T, root: number, combine: (a: T, b: T) => T): Promise<T | undefined> {
  const vr = relative(g.rank, root, g.size);
  let acc = value;
  for (let mask = 1; mask < g.size; mask <<= 1) {
    if ((vr & mask) !== 0) {
      await g.send(absolute(vr - mask, root, g.size), acc);
      return undefined;
    }
    if (vr + mask < g.size) acc = combine(acc, await g.recv<T>(absolute(vr + mask, root, g.size)));
  }
  return acc;
}

/** Root gets every value, in rank order: each subtree sends its values up as one array. */
export async function binomialGather<T>(g: Group, value: T, root: number): Promise<T[] | undefined> {
  const vr = relative(g.rank, root, g.size);
  let held: T[] = [value]; // values of ranks vr, vr+1, ... (relative)
  for (let mask = 1; mask < g.size; mask <<= 1) {
    if ((vr & mask) !== 0) {
      await g.send(absolute(vr - mask, root, g.size), held);
      return undefined;
    }
    if (vr + mask < g.size) held = held.concat(await g.recv<T[]>(absolute(vr + mask, root, g.size)));
  }
  return held.map((_, i) => held[relative(i, root, g.size)]!);
}

/** Rank i gets root's values[i]: each child gets the slice for its subtree. */
export async function binomialScatter<T>(g: Group, values: readonly T[] | undefined, root: number): Promise<T> {
  const vr = relative(g.rank, root, g.size);
  const { parent, mask: joined } = parentOf(vr, g.size);
  let held: T[];
  if (parent >= 0) held = await g.recv<T[]>(absolute(parent, root, g.size));
  else held = values!.map((_, i) => values![absolute(i, root, g.size)]!); // relative order
  const sends: Promise<void>[] = [];
  for (let mask = joined >> 1; mask > 0; mask >>= 1) {
    if (vr + mask < g.size) {
      sends.push(g.send(absolute(vr + mask, root, g.size), held.slice(mask)));
      held = held.slice(0, mask);
    }
  }
  await Promise.all(sends);
  return held[0]!;
}
