/**
 * mulberry32: a small deterministic 32-bit generator for seeded tests, with no allocation per
 * draw (it runs inside Workers' hot loops too).
 *
 * @module
 */

/** A generator of u32 values from `seed`. */
export function random32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** A generator of numbers in [0, 1) from `seed`. */
export function random01(seed: number): () => number {
  const next = random32(seed);
  return () => next() / 4294967296;
}

/** The draws a seeded fuzz makes, all from one mulberry32 stream. */
export interface Draws {
  /** The next u32. */
  nextU32(): number;
  /** An integer in 0 .. bound - 1. */
  below(bound: number): number;
  /** True with the given probability. */
  chance(probability: number): boolean;
  /** One of `items`. */
  pick<T>(items: readonly T[]): T;
}

/** Every draw of a fuzz from one seed. */
export function draws(seed: number): Draws {
  const nextU32 = random32(seed);
  const below = (bound: number) => Math.floor((nextU32() / 4294967296) * bound);
  return {
    nextU32,
    below,
    chance: (probability) => nextU32() < probability * 4294967296,
    pick: (items) => items[below(items.length)],
  };
}
