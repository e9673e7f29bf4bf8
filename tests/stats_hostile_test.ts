/**
 * Counter directories are read from files any process of the user can write: readers must
 * answer every forged, truncated, mis-typed or randomly corrupted file with a HotpathError or a
 * sane result, never a crash, a hang or a value outside its meaning; `listCounters` skips what
 * it cannot read and `removeDeadCounters` never removes a file that is not a dead directory.
 *
 * @module
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import fc from "fast-check";
import { listCounters, Pool, publishCounters, readCounters, removeDeadCounters, Ring } from "../mod.ts";
import { LIMITS, STATS_ENTRY, STATS_HEADER } from "../ffi/abi.generated.ts";
import { assertCode, test } from "./harness.ts";

const FAKE_PID = 4_000_000; // below pid_max's limit, above any pid this machine hands out

/** The bytes of a real directory of this process, with two objects published. */
function realDirectory(): Uint8Array {
  const directory = mkdtempSync(join(tmpdir(), "hotpath-test-stats-"));
  try {
    using publisher = publishCounters({ directory, interval: 60_000 });
    using pool = new Pool({ blockSize: 8, capacity: 4, name: "p" });
    using ring = Ring.spsc({ slot: 8, capacity: 4 });
    pool.alloc();
    assert.ok(ring.capacity > 0);
    publisher.publish();
    return new Uint8Array(readFileSync(join(directory, `hotpath-stats-${process.pid}`)));
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

function forged(directory: string, bytes: Uint8Array, pid = FAKE_PID): string {
  const path = join(directory, `hotpath-stats-${pid}`);
  writeFileSync(path, bytes, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

test("counter readers refuse forged files: wrong size, wrong header, wrong type, open to others, symlinks", () => {
  const directory = mkdtempSync(join(tmpdir(), "hotpath-test-stats-"));
  try {
    const real = realDirectory();
    assert.equal(real.length, LIMITS.statsFileBytes);
    const cases: [string, Uint8Array][] = [
      ["empty", new Uint8Array(0)],
      ["one byte short", real.slice(0, real.length - 1)],
      ["one page longer", new Uint8Array(real.length + 4096)],
      ["zeros", new Uint8Array(real.length)],
    ];
    const fields = [["magic", 0], ["layoutVersion", 2], ["entriesMax", 255], ["countersMax", 15]] as const;
    for (const [field, value] of fields) {
      const bytes = real.slice();
      new DataView(bytes.buffer).setUint32(STATS_HEADER[field], value, true);
      cases.push([`header ${field} = ${value}`, bytes]);
    }
    const longCommand = real.slice();
    new DataView(longCommand.buffer).setUint32(STATS_HEADER.commandBytes, 1000, true);
    cases.push(["command longer than its field", longCommand]);
    for (const [label, bytes] of cases) {
      forged(directory, bytes);
      assertCode(() => readCounters(FAKE_PID, { directory }), "INCOMPATIBLE", `${FAKE_PID}`);
      assert.deepEqual(listCounters({ directory }), { processes: [], dead: [] }, label);
      assert.deepEqual(removeDeadCounters({ directory }), [], `${label}: never removed`);
    }
    const open = forged(directory, real);
    chmodSync(open, 0o644);
    assertCode(() => readCounters(FAKE_PID, { directory }), "PERMISSION_DENIED");
    rmSync(open);
    mkdirSync(join(directory, `hotpath-stats-${FAKE_PID}`));
    assert.throws(() => readCounters(FAKE_PID, { directory }), { name: "HotpathError" });
    rmSync(join(directory, `hotpath-stats-${FAKE_PID}`), { recursive: true });
    const target = forged(directory, real, FAKE_PID + 1);
    symlinkSync(target, join(directory, `hotpath-stats-${FAKE_PID}`));
    assertCode(() => readCounters(FAKE_PID, { directory }), "PERMISSION_DENIED"); // O_NOFOLLOW
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test("counter readers survive random corruption of every entry byte (fast-check)", () => {
  const directory = mkdtempSync(join(tmpdir(), "hotpath-test-stats-"));
  try {
    const real = realDirectory();
    const entries = STATS_HEADER.size;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(2 * STATS_ENTRY.size - 1), fc.nat(255)), { minLength: 1, maxLength: 64 }),
        (writes) => {
          const bytes = real.slice();
          for (const [offset, value] of writes) bytes[entries + offset] = value;
          forged(directory, bytes);
          const seen = readCounters(FAKE_PID, { directory }); // this process's identity: alive
          assert.equal(seen.state, "alive");
          assert.ok(seen.objects.length <= 2);
          for (const object of seen.objects) {
            assert.ok(new TextEncoder().encode(object.name).length <= LIMITS.statsNameBytesMax * 3);
            assert.ok(object.node >= -(2 ** 31) && Number.isInteger(object.node));
            assert.ok(["Pool", "Arena", "SizeClassPool", "SharedPool", "NumaPool", "Ring"].includes(object.kind));
            assert.equal(typeof object.consistent, "boolean");
          }
          assert.deepEqual(removeDeadCounters({ directory }), [], "a live process's file is never removed");
        },
      ),
      { numRuns: 200 },
    );
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
