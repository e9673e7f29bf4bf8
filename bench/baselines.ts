/**
 * What a program would use without hotpath, measured beside it in the same run.
 *
 * @module
 */

/** A plain TypeScript free list over an Int32Array: the floor for a pool written in JS. */
export class TypeScriptFreeList {
  #next: Int32Array;
  #head = 0;

  constructor(capacity: number) {
    this.#next = new Int32Array(capacity);
    for (let index = 0; index < capacity; index++) this.#next[index] = index + 1 < capacity ? index + 1 : -1;
  }

  alloc(): number {
    const handle = this.#head;
    if (handle < 0) return -1;
    this.#head = this.#next[handle];
    return handle;
  }

  free(handle: number): void {
    this.#next[handle] = this.#head;
    this.#head = handle;
  }
}

/** A small JS object, as an order would be without pools. */
export class SmallOrder {
  constructor(public id: number, public price: number, public quantity: number, public side: number) {}
}
