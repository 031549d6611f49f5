// MPI objects cross the ABI as integers (as in MPIWasm and MPICH): each kind of object has a
// table from handle to object. Predefined handles are entered once; new ones count up from a
// first number above them, so a stale or invented handle is found unknown rather than reused
// while the program may still hold it.

export class Handles<T> {
  private readonly byHandle = new Map<number, T>();
  private next: number;

  constructor(first: number) {
    this.next = first;
  }

  set(handle: number, value: T): void {
    this.byHandle.set(handle, value);
  }

  add(value: T): number {
    const h = this.next++;
    this.byHandle.set(h, value);
    return h;
  }

  /** The number the next add() takes (the Wasm thread names objects the rank thread makes). */
  reserve(): number {
    return this.next++;
  }

  get(handle: number): T | undefined {
    return this.byHandle.get(handle);
  }

  delete(handle: number): boolean {
    return this.byHandle.delete(handle);
  }
}
