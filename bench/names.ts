/** Benchmark names, shared by the suites and the ratio report. mitata times 256 operations per iteration. */
export const NAMES = {
  freeList: "TypeScript free list alloc+free (Int32Array)",
  pool: "hotpath Pool alloc+free (64 B)",
  poolDebug: "hotpath Pool alloc+free (64 B, debug mode)",
  poolFfi: "hotpath Pool alloc+free via one FFI call each",
  poolBatch: "hotpath Pool allocMany+freeMany (64 blocks per call)",
  object: "new SmallOrder() (JS object)",
  arrayBuffer: "new ArrayBuffer(64)",
  malloc: "libc malloc(64)+free via FFI",
  noop: "FFI no-op call (hp_noop)",
  arena: "hotpath Arena alloc(64), reset every 1024",
  arenaObjects: "JS objects, 1024 per batch, dropped (GC)",
  fieldsObject: "fields: JS object (read 2, write 1)",
  fieldsCursor: "fields: struct cursor orders.at(h) (read 2, write 1)",
  fieldsTyped: "fields: typed arrays over pool memory (read 2, write 1)",
  sharedPool: "hotpath SharedPool alloc+free (64 B)",
  sharedPoolDebug: "hotpath SharedPool alloc+free (64 B, debug mode)",
} as const;
