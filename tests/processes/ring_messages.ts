/**
 * The message format of the Ring stress and process tests (tests/workers/ring_stress_*.ts,
 * tests/ring_process_test.ts and its children): a slot of `words` int32 words holding
 * (producer id, sequence number, filler words derived from both, checksum of all the others).
 * Every word depends on the (producer, sequence) pair, so a read that mixes words of two
 * messages (torn) fails `verify`.
 *
 * Slots are addressed as int32 words of the side's `bytes` (a "drop" consumer's own copy).
 *
 * @module
 */

/** Words of a message: producer id, sequence, filler..., checksum. */
export const ID = 0;
export const SEQUENCE = 1;

/** The producer id of the message that ends a stream (its sequence: how many the producer sent before). */
export const END_ID = 0x7fff_ffff;

/** The smallest message: id, sequence, one filler word, checksum. */
export const WORDS_MIN = 4;

/** An int32 view of a side's `bytes` and where slot 0's payload starts in it (in words). */
export interface SlotWords {
  words: Int32Array;
  /** Word index of slot 0's payload. */
  base: number;
  /** Words from one slot's payload to the next. */
  stride: number;
}

/** The int32 words over `side.bytes`, addressed by slot. */
export function slotWords(side: { bytes: Uint8Array; offsetOf(slot: number): number }): SlotWords {
  const bytes = side.bytes;
  const first = side.offsetOf(0);
  const stride = side.offsetOf(1) - first;
  if (first % 4 !== 0 || stride % 4 !== 0 || bytes.byteOffset % 4 !== 0) {
    throw new Error(`slots are not word-aligned: offset ${first}, stride ${stride}, view at ${bytes.byteOffset}`);
  }
  const words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
  return { words, base: first >>> 2, stride: stride >>> 2 };
}

/** Filler word `index` of message (id, sequence). */
function filler(id: number, sequence: number, index: number): number {
  const mixed = Math.imul(sequence ^ Math.imul(index, 0x632be5ab), 0x9e3779b1) ^ Math.imul(id + 1, 0x85ebca6b);
  return mixed ^ (mixed >>> 15);
}

function fold(hash: number, word: number): number {
  const mixed = Math.imul(hash ^ word, 0x01000193);
  return mixed ^ (mixed >>> 13);
}

/** Writes message (id, sequence) into slot `slot`. */
export function writeMessage(view: SlotWords, slot: number, words: number, id: number, sequence: number): void {
  const at = view.base + slot * view.stride;
  const target = view.words;
  target[at + ID] = id;
  target[at + SEQUENCE] = sequence;
  let hash = fold(fold(0x811c9dc5, id), sequence);
  for (let index = 2; index < words - 1; index++) {
    const word = filler(id, sequence, index);
    target[at + index] = word;
    hash = fold(hash, word);
  }
  target[at + words - 1] = hash;
}

/** True when slot `slot` holds an intact message (every word matches its id and sequence). */
export function verify(view: SlotWords, slot: number, words: number): boolean {
  const at = view.base + slot * view.stride;
  const source = view.words;
  const id = source[at + ID];
  const sequence = source[at + SEQUENCE];
  let hash = fold(fold(0x811c9dc5, id), sequence);
  for (let index = 2; index < words - 1; index++) {
    const word = source[at + index];
    if (word !== filler(id, sequence, index)) return false;
    hash = fold(hash, word);
  }
  return source[at + words - 1] === hash;
}

/** A running hash of a sequence of (id, sequence) pairs: equal hashes, equal sequences (almost surely). */
export function chain(hash: number, id: number, sequence: number): number {
  return fold(fold(hash, id), sequence);
}

/** The hash `chain` starts from. */
export const CHAIN_START = 0x2545f491;
