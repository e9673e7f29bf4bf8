/**
 * `numa.whereIs`: the kernel's answer for where pages are, for region memory (pre-faulted, so
 * every page is on a node of the topology), for JavaScript memory before and after it is
 * touched, and for hostile arguments.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Arena, numa, Pool, Ring } from "../mod.ts";
import { assertCode, test } from "./harness.ts";
import { NOT_INTEGERS_OR_UNDEFINED } from "./hostile_values.ts";

const nodeIds = () => numa.topology().nodes.map((node) => node.id);

function onNodes(counts: number[]): number {
  return counts.reduce((sum, count) => sum + count, 0);
}

test("numa.whereIs: every page of a pool, an arena and a ring is on a node of this machine", () => {
  using pool = new Pool({ blockSize: 64, capacity: 50_000 });
  using arena = new Arena({ capacity: 1 << 22 });
  using ring = Ring.spsc({ slot: 16, capacity: 1024 });
  const nodes = nodeIds();
  for (const [label, target] of [["pool", pool], ["arena", arena], ["ring side", ring.producer()]] as const) {
    const placement = numa.whereIs(target);
    assert.equal(placement.pageBytes % 4096, 0, label);
    const spanned = Math.ceil(target.bytes.byteLength / placement.pageBytes);
    assert.ok(placement.pages === spanned || placement.pages === spanned + 1, `${label}: ${placement.pages} pages`);
    assert.equal(placement.sampled, placement.pages, `${label}: small regions are not sampled`);
    assert.equal(onNodes(placement.byNode), placement.pages, `${label}: pre-faulted, every page placed`);
    assert.equal(placement.notPresent + placement.other, 0, label);
    placement.byNode.forEach((count, node) => assert.ok(count === 0 || nodes.includes(node), `${label} on ${node}`));
  }
});

test("numa.whereIs: JavaScript memory counts as not present until it is touched", () => {
  const bytes = new Uint8Array(64 * 4096 + 1);
  const before = numa.whereIs(bytes);
  assert.equal(onNodes(before.byNode) + before.notPresent + before.other, before.sampled);
  bytes.fill(1);
  const after = numa.whereIs(bytes);
  assert.equal(after.notPresent, 0);
  assert.equal(onNodes(after.byNode), after.sampled);
  const view = bytes.subarray(4096, 4096 * 3);
  assert.ok(numa.whereIs(view).pages >= 2 && numa.whereIs(view).pages <= 3);
});

test("numa.whereIs refuses what is not memory, reads a lying view's real length, and survives closed regions", () => {
  for (const [, value] of NOT_INTEGERS_OR_UNDEFINED) assertCode(() => numa.whereIs(value as never), "INVALID_ARGUMENT");
  for (
    const value of [new Uint32Array(4), new DataView(new ArrayBuffer(8)), { bytes: 1 }, { bytes: new Int8Array(4) }]
  ) {
    assertCode(() => numa.whereIs(value as never), "INVALID_ARGUMENT", "Uint8Array");
  }
  assertCode(() => numa.whereIs(new Uint8Array(0)), "INVALID_ARGUMENT", "empty");
  const moved = new ArrayBuffer(4096);
  const view = new Uint8Array(moved);
  moved.transfer();
  assertCode(() => numa.whereIs(view), "INVALID_ARGUMENT", "detached");
  class Lying extends Uint8Array {
    override get length(): number {
      return 1 << 30;
    }
    override get byteLength(): number {
      return 1 << 30;
    }
  }
  const lying = new Lying(4096).fill(1);
  assert.equal(numa.whereIs(lying).pages <= 2, true);
  let reads = 0;
  const shifty = {
    get bytes() {
      return reads++ === 0 ? new Uint8Array(4096).fill(1) : Symbol("changed");
    },
  };
  assert.ok(numa.whereIs(shifty as never).pages >= 1);
  assert.equal(reads, 1);
  const pool = new Pool({ blockSize: 64, capacity: 1024 });
  const bytes = pool.bytes;
  pool.close();
  const afterClose = numa.whereIs(bytes.length > 0 ? bytes : new Uint8Array(1));
  assert.equal(onNodes(afterClose.byNode) + afterClose.notPresent + afterClose.other, afterClose.sampled);
});
