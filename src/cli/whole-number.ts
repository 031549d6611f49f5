/** A flag's value that must be a whole number >= 1 (commander's argument parser). */
export function wholeNumber(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} wants a whole number >= 1, got "${v}"`);
  return n;
}
