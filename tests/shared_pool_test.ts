import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { HotpathError, libraryInfo, SharedPool, struct } from "../mod.ts";
import { assertCode, collectGarbage, test } from "./harness.ts";

/** Removes a name if a failed test left it (Deno's file APIs need --allow-all under /dev). */
function unlinkIfThere(name: string): void {
  try {
    SharedPool.unlink({ name });
  } catch (error) {
    if (!(error instanceof HotpathError && error.code === "NOT_FOUND")) throw error;
  }
}

/** A /dev/shm name no other test run uses. */
function uniqueName(label: string): string {
  return `hotpath-test-${label}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

test("SharedPool hands out every block once, then reports exhaustion", () => {
  using pool = new SharedPool({ blockSize: 24, capacity: 100, cache: 8 });
  const handles = new Set<number>();
  for (let i = 0; i < 100; i++) handles.add(pool.alloc());
  assert.equal(handles.size, 100);
  for (const handle of handles) assert.ok(handle >= 0 && handle < 100 && pool.isAllocated(handle));
  assert.equal(pool.tryAlloc(), -1);
  assertCode(() => pool.alloc(), "POOL_EXHAUSTED", "100 blocks");
  assert.equal(pool.check(), 100);
  for (const handle of handles) pool.free(handle);
  assert.equal(pool.check(), 0);
  const stats = pool.stats();
  assert.equal(stats.inUse, 0);
  assert.equal(stats.freeListed + stats.cached + stats.homed, 100);
  assert.equal(stats.highWater, 100);
  assert.equal(stats.failedAllocations, 2);
  assert.ok(stats.refills > 0 && stats.flushes > 0);
  assert.deepEqual(stats.caches.map((cache) => cache.mine), [true]);
});

test("SharedPool.free rejects what is not an allocated handle of the pool", () => {
  using pool = new SharedPool({ blockSize: 8, capacity: 16 });
  const handle = pool.alloc();
  pool.free(handle);
  assertCode(() => pool.free(handle), "DOUBLE_FREE");
  assertCode(() => pool.free(15), "DOUBLE_FREE"); // never allocated
  for (const bad of [-1, 16, 1.5, Number.NaN, 2 ** 32]) assertCode(() => pool.free(bad), "INVALID_HANDLE");
  assertCode(() => pool.free("1" as unknown as number), "INVALID_HANDLE");
  assert.equal(pool.check(), 0);
});

test("SharedPool attachments share blocks: one frees what another allocated", () => {
  using first = new SharedPool({ blockSize: 16, capacity: 64, cache: 4 });
  using second = SharedPool.attach(structuredClone(first.share()));
  const fromFirst = Array.from({ length: 10 }, () => first.alloc());
  const fromSecond = Array.from({ length: 10 }, () => second.alloc());
  assert.equal(new Set([...fromFirst, ...fromSecond]).size, 20);
  first.bytes[first.offset(fromSecond[0])] = 7;
  assert.equal(second.bytes[second.offset(fromSecond[0])], 7);
  for (const handle of fromFirst) second.free(handle);
  for (const handle of fromSecond) first.free(handle);
  assertCode(() => second.free(fromSecond[3]), "DOUBLE_FREE");
  const stats = first.stats();
  assert.equal(stats.caches.length, 2);
  assert.equal(stats.inUse, 0);
  assert.equal(first.check(), 0);
});

test("SharedPool alloc and free from the cache write no owner byte; a block in a cache is free to all", () => {
  using first = new SharedPool({ blockSize: 16, capacity: 256, cache: 16 });
  using second = SharedPool.attach(first.share());
  // The owner bytes, which every attachment reads and only batch calls and frees across Workers
  // write (white box: the private view over the region).
  const owners = (first as unknown as { owners: Uint8Array }).owners;
  const warm = [first.alloc(), second.alloc()]; // both caches refilled: 7 handles left in each
  const before = owners.slice();
  for (let round = 0; round < 50; round++) {
    const mine = [first.alloc(), first.alloc(), first.alloc()];
    const theirs = [second.alloc(), second.alloc()];
    assert.deepEqual(owners, before, "an alloc from the cache wrote an owner byte");
    for (const handle of mine.reverse()) first.free(handle);
    for (const handle of theirs) second.free(handle);
  }
  assert.deepEqual(owners, before, "a free into the cache wrote an owner byte");
  // A block freed into its cache is free for everyone: another attachment's free of it is a
  // double free, and so is a retire; isAllocated says false from both sides.
  const parked = first.alloc();
  first.free(parked);
  assert.equal(owners[parked], before[warm[0]]); // still this cache's block: in its magazine
  assert.equal(first.isAllocated(parked), false);
  assert.equal(second.isAllocated(parked), false);
  assertCode(() => second.free(parked), "DOUBLE_FREE");
  assertCode(() => second.retire(parked), "DOUBLE_FREE");
  assertCode(() => first.free(parked), "DOUBLE_FREE");
  first.free(warm[0]);
  second.free(warm[1]);
  assert.equal(first.check(), 0);
});

test("SharedPool blocks freed after their allocator closed come back to the pool", () => {
  using pool = new SharedPool({ blockSize: 16, capacity: 64, cache: 4 });
  const other = SharedPool.attach(pool.share());
  const handle = other.alloc();
  other.close();
  pool.free(handle); // home to a cache nobody refills from any more
  const handles = new Set<number>();
  for (let got = pool.tryAlloc(); got >= 0; got = pool.tryAlloc()) handles.add(got);
  assert.equal(handles.size, 64);
  assert.ok(handles.has(handle));
  assert.equal(pool.stats().homed, 0);
});

test("SharedPool grows in chunks up to its maximum, from whichever attachment runs dry", () => {
  using pool = new SharedPool({ blockSize: 32, capacity: 10, grow: { chunk: 20, maxCapacity: 55 }, cache: 4 });
  using other = SharedPool.attach(pool.share());
  let count = 0;
  while (pool.tryAlloc() >= 0) count++;
  while (other.tryAlloc() >= 0) count++;
  assert.equal(count, 55);
  const stats = pool.stats();
  assert.equal(stats.capacity, 55);
  assert.equal(stats.growths, 3);
  assertCode(() => pool.grow(), "POOL_EXHAUSTED");
  assert.equal(pool.check(), 55);
});

test("SharedPool.of gives typed cursors on allocated blocks only", () => {
  const Quote = struct({ price: "f64", size: "u32", side: "u8" });
  using quotes = SharedPool.of(Quote, { capacity: 8 });
  using reader = SharedPool.attach(quotes.share(), { layout: Quote });
  const handle = quotes.alloc();
  quotes.at(handle).price = 101.25;
  quotes.at(handle).size = 300;
  assert.equal(reader.at(handle).price, 101.25);
  assert.equal(reader.at(handle).size, 300);
  quotes.free(handle);
  assertCode(() => reader.at(handle), "INVALID_HANDLE");
  using plain = new SharedPool({ blockSize: 8, capacity: 2 });
  assertCode(() => plain.at(plain.alloc()), "INVALID_ARGUMENT");
  const Big = struct({ values: ["f64", 4] });
  assertCode(() => SharedPool.attach(quotes.share(), { layout: Big }), "INCOMPATIBLE");
});

test("SharedPool.close detaches one attachment; the last one leaves views that read zeros", () => {
  const pool = new SharedPool({ blockSize: 8, capacity: 8 });
  const descriptor = pool.share();
  const other = SharedPool.attach(descriptor);
  const handle = pool.alloc();
  const view = pool.bytes;
  view[pool.offset(handle)] = 9;
  pool.close();
  pool.close(); // twice is fine
  assert.equal(pool.closed, true);
  assertCode(() => pool.alloc(), "CLOSED");
  assertCode(() => pool.free(handle), "CLOSED");
  assertCode(() => pool.stats(), "CLOSED");
  assertCode(() => pool.share(), "CLOSED");
  assert.equal(other.bytes[other.offset(handle)], 9, "the other attachment keeps the memory");
  other.free(handle);
  other.close();
  assert.equal(view[0], 0, "after the last close, a kept view reads zeros");
  assertCode(() => SharedPool.attach(descriptor), "CLOSED", "no longer open");
});

test("SharedPool named regions: exclusive creation, open from the same process, unlink", () => {
  const name = uniqueName("named");
  const created = new SharedPool({ blockSize: 64, capacity: 32, name });
  try {
    assertCode(() => new SharedPool({ blockSize: 64, capacity: 32, name }), "ALREADY_EXISTS");
    using opened = SharedPool.open({ name });
    assert.equal(opened.name, `/dev/shm/${name}`);
    const handle = created.alloc();
    const offset = opened.offset(handle);
    opened.bytes[offset] = 42;
    assert.equal(created.bytes[offset], 42);
    const view = opened.bytes;
    opened.close();
    assert.equal(view[offset], 0, "a closed mapping's views read zeros");
    assert.equal(created.bytes[offset], 42, "the other mapping is untouched");
    created.free(handle);
    created.unlink();
    assertCode(() => SharedPool.open({ name }), "NOT_FOUND");
    assertCode(() => SharedPool.unlink({ name }), "NOT_FOUND");
    assert.equal(created.alloc() >= 0, true, "an unlinked pool stays usable while open");
  } finally {
    created.close();
    unlinkIfThere(name);
  }
});

test("SharedPool from a named region's descriptor attaches by id here", () => {
  const name = uniqueName("descriptor");
  using created = new SharedPool({ blockSize: 16, capacity: 16, name });
  try {
    const descriptor = created.share();
    assert.equal(descriptor.path, `/dev/shm/${name}`);
    using attached = SharedPool.attach(descriptor);
    const handle = attached.alloc();
    created.free(handle);
    assert.equal(created.check(), 0);
  } finally {
    SharedPool.unlink({ name });
  }
});

test("SharedPool debug mode detects double frees with an atomic swap", () => {
  using pool = new SharedPool({ blockSize: 8, capacity: 4, debug: true });
  assert.equal(pool.debug, true);
  using attached = SharedPool.attach(pool.share());
  assert.equal(attached.debug, true, "an attachment takes the sharer's mode");
  const handle = pool.alloc();
  attached.free(handle);
  assertCode(() => pool.free(handle), "DOUBLE_FREE");
  assert.equal(pool.check(), 0);
});

/** In its own frame, so that no local of the test keeps a pool reachable. */
function useAndClose(): void {
  const pool = new SharedPool({ blockSize: 64, capacity: 256 });
  const other = SharedPool.attach(pool.share());
  other.free(pool.alloc());
  pool.close();
  other.close();
}

test("SharedPool regions are released once every attachment is closed and collected", async () => {
  // Until earlier tests' closed pools are collected too: their release must not land inside the
  // measurement (Bun's collector can take several rounds).
  let before = libraryInfo().regionsMapped;
  for (let round = 0; round < 40; round++) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const now = libraryInfo().regionsMapped;
    if (now === before && round >= 4) break;
    before = now;
  }
  for (let i = 0; i < 20; i++) useAndClose();
  const deadline = Date.now() + 5000;
  while (libraryInfo().regionsMapped > before && Date.now() < deadline) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(libraryInfo().regionsMapped <= before, `${libraryInfo().regionsMapped} regions mapped, ${before} before`);
});

test("SharedPool growth on a really full file system is refused and counted, not SIGBUS (root: 1 MiB tmpfs)", () => {
  // The real thing where the machine allows it: a 1 MiB tmpfs, mounted for this test only.
  const directory = mkdtempSync(join(tmpdir(), "hotpath-full-"));
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", directory], { encoding: "utf8" });
  if (mounted.status !== 0) {
    rmdirSync(directory);
    console.log(`skipped: cannot mount a small tmpfs here (${(mounted.stderr ?? "").trim() || mounted.error})`);
    return;
  }
  try {
    const path = join(directory, "pool");
    assertCode(() => new SharedPool({ blockSize: 4096, capacity: 1000, path }), "NO_SPACE", "1.0 MiB free");
    using pool = new SharedPool({ blockSize: 4096, capacity: 16, grow: { chunk: 64, maxCapacity: 1024 }, path });
    const handles: number[] = [];
    for (let handle = pool.tryAlloc(); handle >= 0; handle = pool.tryAlloc()) {
      pool.bytes.fill(7, pool.offset(handle), pool.offset(handle) + 4096); // every page it gave is real
      handles.push(handle);
    }
    assert.ok(handles.length >= 16 && handles.length < 256, `${handles.length} blocks in 1 MiB`);
    assertCode(() => pool.alloc(), "POOL_EXHAUSTED", "refused by the kernel or the file system");
    const stats = pool.stats();
    assert.ok(stats.growthFailures >= 1);
    assert.equal(stats.capacity, handles.length);
    for (const handle of handles) pool.free(handle);
    assert.equal(pool.check(), 0);
    pool.unlink();
  } finally {
    spawnSync("umount", ["--lazy", directory]); // the mapping lives until its buffer is collected
    rmdirSync(directory);
  }
});

test("SharedPool creation reports a /dev/shm too small with both numbers, and makes nothing", () => {
  const name = uniqueName("nospace");
  process.env.HOTPATH_TEST_FREE_BYTES = String(64 * 1024); // a container's tiny /dev/shm
  try {
    assertCode(() => new SharedPool({ blockSize: 1024, capacity: 1024, name }), "NO_SPACE", "0.1 MiB free");
    assertCode(() => SharedPool.open({ name }), "NOT_FOUND");
    using small = new SharedPool({ blockSize: 64, capacity: 16, name });
    small.unlink();
  } finally {
    delete process.env.HOTPATH_TEST_FREE_BYTES;
    unlinkIfThere(name);
  }
});
