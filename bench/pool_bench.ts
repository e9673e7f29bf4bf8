/**
 * Pool alloc+free against the plain TypeScript free list, JS objects, `new ArrayBuffer(64)`,
 * libc malloc/free through FFI and the floor of one FFI call, in one mitata summary.
 *
 * @module
 */
import { bench, do_not_optimize, summary } from "mitata";
import { Pool } from "../mod.ts";
import { openNative } from "../ffi/library.ts";
import { poolConfigBytes } from "../src/region.ts";
import { NO_PLACEMENT } from "../src/placement.ts";
import { openLibc } from "./libc.ts";
import { SmallOrder, TypeScriptFreeList } from "./baselines.ts";
import { NAMES } from "./names.ts";
import { type Distribution, measureLatency } from "./latency.ts";
import { repeated } from "./repeat.ts";

const CAPACITY = 4096;
const BATCH = 64;

/** Registers the pool benchmarks with mitata. */
export function registerPoolBenchmarks(): void {
  const pool = new Pool({ blockSize: 64, capacity: CAPACITY, debug: false });
  const debugPool = new Pool({ blockSize: 64, capacity: CAPACITY, debug: true });
  const freeList = new TypeScriptFreeList(CAPACITY);
  const libc = openLibc();
  const malloc64 = libc.mallocOf(64);
  const free = libc.free;
  const symbols = openNative().symbols;
  const noop = symbols.hp_noop;
  // A pool driven only by native calls: no JavaScript view, so it lives until closed.
  const config = poolConfigBytes({
    blockSize: 64,
    capacity: CAPACITY,
    capacityMax: 0,
    growChunk: 0,
    alignment: 8,
    placement: NO_PLACEMENT,
  });
  const nativeId = symbols.hp_pool_create(config, config.length);
  const nativeAlloc = symbols.hp_pool_alloc;
  const nativeFree = symbols.hp_pool_free;
  const handles = new Uint32Array(BATCH);

  summary(() => {
    bench(
      NAMES.freeList,
      repeated(NAMES.freeList, () => {
        const handle = freeList.alloc();
        freeList.free(handle);
        do_not_optimize(handle);
      }),
    ).baseline(true);
    bench(
      NAMES.pool,
      repeated(NAMES.pool, () => {
        const handle = pool.alloc();
        pool.free(handle);
        do_not_optimize(handle);
      }),
    );
    bench(
      NAMES.poolDebug,
      repeated(NAMES.poolDebug, () => {
        const handle = debugPool.alloc();
        debugPool.free(handle);
        do_not_optimize(handle);
      }),
    );
    bench(
      NAMES.poolFfi,
      repeated(NAMES.poolFfi, () => {
        const handle = nativeAlloc(nativeId);
        nativeFree(nativeId, handle);
        do_not_optimize(handle);
      }),
    );
    bench(
      NAMES.poolBatch,
      repeated(NAMES.poolBatch, () => {
        pool.allocMany(handles);
        pool.freeMany(handles);
      }),
    );
    bench(NAMES.object, repeated(NAMES.object, () => do_not_optimize(new SmallOrder(1, 100.5, 10, 1))));
    bench(NAMES.arrayBuffer, repeated(NAMES.arrayBuffer, () => do_not_optimize(new ArrayBuffer(64))));
    bench(NAMES.malloc, repeated(NAMES.malloc, () => free(malloc64())));
    bench(NAMES.noop, repeated(NAMES.noop, () => noop()));
  });
}

/** Latency distributions of single pool, malloc and JS allocations (batches of 64). */
export function poolLatencies(samples: number): Distribution[] {
  const batch = 64;
  const pool = new Pool({ blockSize: 64, capacity: CAPACITY, debug: false });
  const libc = openLibc();
  const malloc64 = libc.mallocOf(64);
  const held = new Uint32Array(batch);
  const pointers: unknown[] = new Array(batch).fill(null);
  const objects: SmallOrder[] = new Array(batch);
  const buffers: ArrayBuffer[] = new Array(batch);
  const allocPool = () => {
    for (let index = 0; index < batch; index++) held[index] = pool.alloc();
  };
  const freePool = () => {
    for (let index = 0; index < batch; index++) pool.free(held[index]);
  };
  const allocMalloc = () => {
    for (let index = 0; index < batch; index++) pointers[index] = malloc64();
  };
  const freeMalloc = () => {
    for (let index = 0; index < batch; index++) libc.free(pointers[index]);
  };
  const options = { samples, batch };
  const freeing = { samples, batch, startWithUntimed: true };
  const results = [
    measureLatency("pool_alloc (64B)", options, allocPool, freePool),
    measureLatency("pool_free (64B)", freeing, freePool, allocPool),
    measureLatency("malloc_ffi (64B)", options, allocMalloc, freeMalloc),
    measureLatency("free_ffi (64B)", freeing, freeMalloc, allocMalloc),
    measureLatency("js_object (new SmallOrder)", options, () => {
      for (let index = 0; index < batch; index++) objects[index] = new SmallOrder(index, 1.5, 1, 0);
    }, () => {}),
    measureLatency("js_arraybuffer (new ArrayBuffer(64))", options, () => {
      for (let index = 0; index < batch; index++) buffers[index] = new ArrayBuffer(64);
    }, () => {}),
  ];
  pool.close();
  return results;
}
