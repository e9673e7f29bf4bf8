/**
 * A child of tests/histogram_test.ts: records 0, 1000, 2000, ... (as many as its argument) into
 * a Histogram of its own and prints the snapshot's words as JSON, for another process (of either
 * runtime) to merge.
 *
 * @module
 */
import process from "node:process";
import { Histogram } from "../../mod.ts";

const values = Number(process.argv[2]);
using histogram = new Histogram();
for (let index = 0; index < values; index++) histogram.record(index * 1000);
process.stdout.write(`${JSON.stringify(Array.from(histogram.snapshot()))}\n`);
