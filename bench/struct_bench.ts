/**
 * Field access: a `struct` cursor over pool memory (`orders.at(handle)`), a typed array
 * indexed by hand over the same memory, and a plain JS object. Each operation reads two
 * fields and writes one, on one of 1024 records chosen in a fixed stride.
 *
 * @module
 */
import { bench, do_not_optimize, summary } from "mitata";
import { Order, Pool } from "../mod.ts";
import { NAMES } from "./names.ts";
import { repeated } from "./repeat.ts";

const RECORDS = 1024;

class JsOrder {
  constructor(public price: number, public quantity: number, public remaining: number) {}
}

/** Registers the field access benchmarks with mitata. */
export function registerStructBenchmarks(): void {
  const orders = Pool.of(Order, { capacity: RECORDS, debug: false });
  const handles = Array.from({ length: RECORDS }, () => orders.alloc());
  const objects = Array.from({ length: RECORDS }, (_, index) => new JsOrder(100 + index, 10, 10));
  const floats = new Float64Array(orders.bytes.buffer, orders.bytes.byteOffset, (RECORDS * orders.stride) / 8);
  const words = new Uint32Array(orders.bytes.buffer, orders.bytes.byteOffset, (RECORDS * orders.stride) / 4);
  const priceAt = Order.offsetOf("price") / 8;
  const quantityAt = Order.offsetOf("quantity") / 4;
  const remainingAt = Order.offsetOf("remaining") / 4;
  const strideFloats = orders.stride / 8;
  const strideWords = orders.stride / 4;
  for (const handle of handles) {
    const order = orders.at(handle);
    order.price = 100 + handle;
    order.quantity = 10;
    order.remaining = 10;
  }
  let next = 0;
  summary(() => {
    bench(
      NAMES.fieldsObject,
      repeated(NAMES.fieldsObject, () => {
        const order = objects[next = (next + 7) & (RECORDS - 1)];
        order.remaining = order.quantity - (order.price > 500 ? 1 : 0);
        do_not_optimize(order);
      }),
    ).baseline(true);
    bench(
      NAMES.fieldsCursor,
      repeated(NAMES.fieldsCursor, () => {
        const order = orders.at(handles[next = (next + 7) & (RECORDS - 1)]);
        order.remaining = order.quantity - (order.price > 500 ? 1 : 0);
        do_not_optimize(order);
      }),
    );
    bench(
      NAMES.fieldsTyped,
      repeated(NAMES.fieldsTyped, () => {
        const handle = handles[next = (next + 7) & (RECORDS - 1)];
        words[handle * strideWords + remainingAt] = words[handle * strideWords + quantityAt] -
          (floats[handle * strideFloats + priceAt] > 500 ? 1 : 0);
        do_not_optimize(handle);
      }),
    );
  });
}
