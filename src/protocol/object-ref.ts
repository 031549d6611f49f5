/**
 * A reference to an object held by the cluster, as the wire knows it: an id. The
 * driver's `Ref<T>` extends this; in arguments it travels as the id and the runner puts
 * the object's value in its place before the function sees it.
 */
export class ObjectRef {
  constructor(readonly id: string) {}
}
