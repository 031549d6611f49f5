// What a header's field may hold, said once for the compiler and for the run-time check:
// a kind's test is a type guard, so the type a message table derives from its kinds is
// exactly what a header that passed the tests holds.

/** A type of field value: a test for it, and how an error names it. */
export interface Kind<V> {
  /** Completes "… is not": "an integer". */
  readonly says: string;
  readonly test: (v: unknown) => v is V;
}

/** A trailing field a writer may leave out, or send as null to reach a later one. */
export interface Maybe<V> extends Kind<V | null | undefined> {
  readonly present: Kind<V>;
}

export const isMaybe = (k: Kind<unknown>): k is Maybe<unknown> => "present" in k;

/** The value type of a kind. */
export type ValueOf<K> = K extends Kind<infer V> ? V : never;

const kind = <V>(says: string, test: (v: unknown) => v is V): Kind<V> => ({ says, test });

/** Ids, counts, indices, ports: integers a double holds exactly. */
export const int = kind("an integer", (v): v is number => Number.isSafeInteger(v));
/** Measures (times, byte counts in statistics): any number. */
export const num = kind("a number", (v): v is number => typeof v === "number");
export const str = kind("a string", (v): v is string => typeof v === "string");
export const bool = kind("a boolean", (v): v is boolean => typeof v === "boolean");
/** Nonces and MACs. */
export const bytes = kind("bytes", (v): v is Uint8Array => v instanceof Uint8Array);

export const maybe = <V>(k: Kind<V>): Maybe<V> => ({
  says: `${k.says} or null`,
  test: (v): v is V | null | undefined => v === null || v === undefined || k.test(v),
  present: k,
});

export const nullable = <V>(k: Kind<V>): Kind<V | null> => kind(`${k.says} or null`, (v): v is V | null => v === null || k.test(v));

export const listOf = <V>(k: Kind<V>): Kind<V[]> => kind(`a list, each ${k.says}`, (v): v is V[] => {
  if (!Array.isArray(v)) return false;
  for (const x of v) if (!k.test(x)) return false;
  return true;
});

/** A fixed tuple of kinds (`maybe` ones last). */
export function tupleOf<const Ks extends readonly Kind<unknown>[]>(says: string, ...kinds: Ks): Kind<TupleOf<Ks>> {
  const required = kinds.filter((k) => !isMaybe(k)).length;
  return kind(says, (v): v is TupleOf<Ks> => {
    if (!Array.isArray(v) || v.length < required || v.length > kinds.length) return false;
    for (let i = 0; i < kinds.length; i++) if (!kinds[i]!.test(v[i])) return false;
    return true;
  });
}

/** The tuple type a list of kinds stands for: a `maybe` kind is an optional element. */
export type TupleOf<Ks> = Ks extends readonly [infer K, ...infer Rest]
  ? K extends Maybe<infer V> ? [(V | null)?, ...TupleOf<Rest>] : [ValueOf<K>, ...TupleOf<Rest>]
  : [];

/**
 * An object with these properties (others are ignored: a later version may add some). The
 * spec must name every property of `V`, so the check cannot fall behind the interface.
 */
export function record<V extends object>(says: string, spec: { readonly [P in keyof V]-?: Kind<V[P]> }): Kind<V> {
  const entries = Object.entries(spec) as [string, Kind<unknown>][];
  return kind(says, (v): v is V => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
    for (const [key, k] of entries) if (!k.test((v as Record<string, unknown>)[key])) return false;
    return true;
  });
}

/** One of these strings. */
export const literal = <const L extends string>(...values: readonly L[]): Kind<L> =>
  kind(values.map((v) => JSON.stringify(v)).join(" or "), (v): v is L => (values as readonly unknown[]).includes(v));

/** A value any of these kinds takes (a union). */
export const anyOf = <V>(says: string, ...kinds: readonly Kind<V>[]): Kind<V> =>
  kind(says, (v): v is V => kinds.some((k) => k.test(v)));
