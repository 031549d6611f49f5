// The remote side of examples/progress: small calls that take a few milliseconds each.

/** i², after about `ms` milliseconds of waiting (a stand-in for real work). */
export async function square(i: number, ms: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return i * i;
}
