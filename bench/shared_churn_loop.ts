/**
 * The churn every SharedPool Worker and process benchmark runs, one compiled loop per
 * allocator and variant (each from its own source text, as in bench/tight.ts, so each call
 * site keeps its own feedback and its alloc and free can be inlined).
 *
 * One burst: 16 allocs, then 16 frees. In the "cross" variant the first handle of each burst
 * is swapped with the one waiting in a slot both Workers use (`Atomics.exchange`) before the
 * frees: about half the swaps bring back the other Worker's handle, so blocks are freed by a
 * Worker that did not allocate them; alone, a Worker gets its own handle back, at the same
 * cost. A slot value is a handle times two plus the id (0 or 1) of the Worker that put it, so
 * the loop counts cross-Worker frees. An address cannot travel as a handle: it is parked in a
 * Float64Array entry of the putting Worker and the slot carries the entry's index; an entry is
 * marked in use until the Worker that takes the slot value has read it (a Worker descheduled
 * between the swap and the read must not find the entry reused: that freed one block twice).
 * The "local" variant has no swap. Operations: every alloc and every free.
 *
 * @module
 */

/** Handles allocated before they are freed, per burst. */
export const BURST = 16;
/** Parking entries per Worker for addresses in transit (at most a few are in use at once). */
export const PARKING_ENTRIES = 1024;

/** How one allocator is called, as source text over the `names` bound to `values`. */
export interface ChurnSpec {
  label: string;
  names: string[];
  values: unknown[];
  /** An expression that allocates and yields a handle or pointer. */
  alloc: string;
  /** A statement that frees `x`. */
  free(x: string): string;
  /** Statements run once at the start of a run (state for `put` and `take`). */
  prelude: string;
  /** Statements that declare `token`: the slot value (an int32, never -1) for `x`, put by Worker `id`. */
  put(x: string): string;
  /** An expression: the handle or pointer in slot value `v`, which it consumes. */
  take(v: string): string;
  /** Swap a dummy token instead (private Pools): the cost of the exchange, with nothing crossing. */
  swapOnly?: boolean;
}

/** What one churn did. */
export interface ChurnCount {
  operations: number;
  crossFrees: number;
}

/** A compiled churn and the drain that empties its slot at the end of a run. */
export interface Churn {
  run(bursts: number, id: number, slots: Int32Array, slot: number, held: unknown[] | Int32Array): ChurnCount;
  drain(slots: Int32Array, slot: number): void;
}

/** The swap of the cross variant: `held[0]` goes to the slot, the slot's value comes back. */
function swap(spec: ChurnSpec): string {
  if (spec.swapOnly) return "Atomics.exchange(slots, slot, id);";
  return `${spec.put("held[0]")}
      const got = Atomics.exchange(slots, slot, token);
      if (got !== -1) {
        crossFrees += (got & 1) ^ id;
        held[0] = ${spec.take("got")};
      } else {
        first = 1;
      }`;
}

/** Compiles `spec`'s churn (with or without the cross-Worker swap) and its drain. */
export function compileChurn(spec: ChurnSpec, cross: boolean): Churn {
  const label = `${spec.label} ${cross ? "cross" : "local"}`.replace(/[^\w .+()-]/g, "_");
  const source = `/* ${label} */
  function run(bursts, id, slots, slot, held) {
    ${spec.prelude}
    let operations = 0;
    let crossFrees = 0;
    for (let burst = 0; burst < bursts; burst++) {
      for (let j = 0; j < ${BURST}; j++) held[j] = ${spec.alloc};
      let first = 0;
      ${cross ? swap(spec) : ""}
      for (let j = first; j < ${BURST}; j++) { ${spec.free("held[j]")}; }
      operations += ${2 * BURST} - first;
    }
    return { operations, crossFrees };
  }
  function drain(slots, slot) {
    ${spec.prelude}
    const got = Atomics.exchange(slots, slot, -1);
    if (got !== -1 && ${!spec.swapOnly}) { ${spec.free(spec.take("got"))}; }
  }
  return { run, drain };`;
  return new Function(...spec.names, source)(...spec.values) as Churn;
}

/** The spec of an allocator of integer handles (`target.alloc()` / `target.free(h)`, or a stack). */
export function handleChurn(label: string, target: unknown, alloc: string, free: string): ChurnSpec {
  return {
    label,
    names: ["target"],
    values: [target],
    alloc: `target.${alloc}()`,
    free: (x) => `target.${free}(${x})`,
    prelude: "",
    put: (x) => `const token = ${x} * 2 + id;`,
    take: (v) => `(${v} >> 1)`,
  };
}

/**
 * The spec of malloc/free through FFI. `parking` (a Float64Array over shared memory, 2 x
 * PARKING_ENTRIES) holds addresses in transit, `parked` (an Int32Array, the same length) marks
 * the entries in use; `address` and `at` convert a pointer to a number and back (free on Bun,
 * whose pointers are numbers; about 100 ns a burst on Deno).
 */
export function pointerChurn(
  label: string,
  malloc: () => unknown,
  free: (pointer: unknown) => void,
  conversions: { address: (pointer: unknown) => number; at: (address: number) => unknown },
  parking: { addresses: Float64Array; parked: Int32Array },
): ChurnSpec {
  return {
    label,
    names: ["malloc", "free", "address", "at", "parking", "parked"],
    values: [malloc, free, conversions.address, conversions.at, parking.addresses, parking.parked],
    alloc: "malloc()",
    free: (x) => `free(${x})`,
    prelude: "let entry = 0; let taken = null;",
    // Ends within a few steps: at most two entries of a Worker are in use at once.
    put: (x) =>
      `do entry = id * ${PARKING_ENTRIES} + ((entry + 1) & ${PARKING_ENTRIES - 1}); ` +
      `while (Atomics.load(parked, entry) !== 0);
      parking[entry] = address(${x});
      Atomics.store(parked, entry, 1);
      const token = entry * 2 + id;`,
    take: (v) => `(taken = at(parking[${v} >> 1]), Atomics.store(parked, ${v} >> 1, 0), taken)`,
  };
}
