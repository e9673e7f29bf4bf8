/**
 * Gives every benchmark its own compiled loop.
 *
 * mitata builds each benchmark's timing loop with `new Function` from the same source text,
 * so V8 shares that loop's call-site feedback between benchmarks: the first benchmark of a
 * process is inlined and later ones are not. Measured on Deno 2.9: the same TypeScript free
 * list took 1.4 ns as the first benchmark and 5.6 ns as the second. Here each benchmark gets a
 * loop compiled from source that names it, so its operation is a monomorphic call that V8 and
 * JavaScriptCore can inline wherever the benchmark sits. Results are per iteration of
 * `OPS_PER_ITERATION` operations; reports divide by it.
 *
 * @module
 */

/** Operations per mitata iteration. */
export const OPS_PER_ITERATION = 256;

/** A function that runs `operation` OPS_PER_ITERATION times from a call site of its own. */
export function repeated(name: string, operation: () => void): () => void {
  const label = name.replace(/[^\w .+()-]/g, "_");
  const factory = new Function(
    "operation",
    `/* ${label} */ return function () { for (let i = 0; i < ${OPS_PER_ITERATION}; i++) operation(); };`,
  ) as (operation: () => void) => () => void;
  return factory(operation);
}
