import { ObjectRef } from "../../protocol/object-ref.ts";

declare const refValue: unique symbol;

/** What made a Ref (the driver's object table): told when the program releases it. */
export interface RefOwner {
  releaseRef(ref: ObjectRef, record: object): void;
}

let recordOf: (ref: ObjectRef) => object | undefined;

/** The record a Ref was made with (undefined: not a Ref made in this process). */
export function refRecord(ref: ObjectRef): object | undefined {
  return recordOf(ref);
}

/**
 * A value held by the cluster rather than by this process: made by `cluster.put(v)`, by
 * `f.ref(...)` (the result stays on the runner that made it) or by `cluster.broadcast(v)`.
 * Pass it anywhere inside a remote call's arguments and the function receives the value;
 * `cluster.get(ref)` fetches it.
 *
 * The driver owns the object: `release()` (or `using`, or this Ref being garbage
 * collected) frees it on every runner once no pending call still needs it.
 */
export class Ref<T> extends ObjectRef {
  /** Carries T for the type checker only. */
  declare readonly [refValue]?: T;
  // The driver's record of the object, held here rather than in WeakMaps keyed by Ref:
  // two WeakMap entries and a release closure per Ref cost ~3 µs of the loop that
  // builds a graph (bench/dag.ts), and ephemerons are work for every GC.
  readonly #owner: RefOwner;
  readonly #entry: object;

  /** @internal Refs are made by a Cluster. */
  constructor(id: string, owner: RefOwner, entry: object) {
    super(id);
    this.#owner = owner;
    this.#entry = entry;
  }

  /** Frees the object on the runners (after the calls already given it are done). Idempotent. */
  release(): void {
    this.#owner.releaseRef(this, this.#entry);
  }

  [Symbol.dispose](): void {
    this.release();
  }

  static {
    recordOf = (ref) => (#entry in ref ? ref.#entry : undefined);
  }

  override toString(): string {
    return `Ref(${this.id})`;
  }
}

/** Values that hold no Refs inside: a Ref can stand for them only as a whole. */
type Opaque =
  | string | number | boolean | bigint | symbol | null | undefined
  | ArrayBuffer | ArrayBufferView | Date | RegExp | Error
  | ReadonlyMap<unknown, unknown> | ReadonlySet<unknown> | ((...args: never[]) => unknown);

/** A value as an argument may give it: itself, a Ref to it, or (for objects and arrays) the same with Refs inside. */
export type RefOr<T> = T | Ref<T> | (T extends Opaque ? never : { [K in keyof T]: RefOr<T[K]> });
