/**
 * Child process of tests/monitoring_adversarial_test.ts: reads the counter directory of pid
 * `argv[3]` in `argv[2]` in a tight loop for `argv[4]` ms while the parent truncates and regrows
 * that file. Any HotpathError is an acceptable answer; a crash (SIGBUS) is the failure looked for.
 * Prints one line: `reads=N refused=M`.
 *
 * @module
 */
import process from "node:process";
import { HotpathError, readCounters } from "../../mod.ts";

const [directory, pidText, durationText] = process.argv.slice(2);
const pid = Number(pidText);
const until = Date.now() + Number(durationText);
let reads = 0;
let refused = 0;
while (Date.now() < until) {
  try {
    readCounters(pid, { directory });
    reads++;
  } catch (error) {
    if (!(error instanceof HotpathError)) throw error;
    refused++;
  }
}
process.stdout.write(`reads=${reads} refused=${refused}\n`);
