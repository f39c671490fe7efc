import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/encodingParams/constants';

const notAToken = 0x7fffffff;
/** Longest run of bytes merged at once (see #countPiece). */
const maxMergedBytes = 256;
const utf8 = new TextEncoder();

/**
 * Counts byte-pair-encoding tokens the way tiktoken does: split the text with the encoding's regex,
 * then merge each piece's bytes, lowest rank first. The vocabulary sits in typed arrays (its bytes in
 * rank order and an open-addressing hash of them, about 5 MiB off the JS heap) because gpt-tokenizer's
 * own encoder, a Map of 200k strings built from a 2.4 MB module, keeps some 40 MiB resident per process.
 * Special tokens such as "<|endoftext|>" count as the plain text they are, as they do for a model that
 * receives them in a message.
 */
export class BpeTokenCounter {
  readonly #bytes: Uint8Array;
  /** Token r is bytes[offsets[r], offsets[r + 1]). */
  readonly #offsets: Uint32Array;
  /** rank + 1 of the token hashed to each slot, 0 where empty. */
  readonly #slots: Int32Array;
  readonly #split: RegExp;
  #piece = new Uint8Array(256);
  #starts = new Int32Array(256);
  #ranks = new Int32Array(256);

  /** From a `.tiktoken` file: one "<base64 token bytes> <rank>" line per token, ranks 0, 1, 2, ... */
  constructor(tiktoken: Buffer, split: RegExp) {
    // Its own copy: count() moves lastIndex.
    this.#split = new RegExp(split.source, split.flags.includes('g') ? split.flags : `${split.flags}g`);
    let count = 0;
    for (let at = tiktoken.indexOf(10); at !== -1; at = tiktoken.indexOf(10, at + 1)) count++;
    if (tiktoken.at(-1) !== 10) count++;
    const bytes = Buffer.allocUnsafe(tiktoken.length);
    this.#offsets = new Uint32Array(count + 1);
    let size = 0;
    for (let rank = 0, start = 0; rank < count; rank++) {
      const space = tiktoken.indexOf(32, start);
      let end = tiktoken.indexOf(10, space);
      if (end === -1) end = tiktoken.length;
      if (space === -1 || Number(tiktoken.toString('latin1', space + 1, end)) !== rank) {
        throw new Error('tokenizer: the rank file is not a dense .tiktoken file');
      }
      size += bytes.write(tiktoken.toString('latin1', start, space), size, 'base64');
      this.#offsets[rank + 1] = size;
      start = end + 1;
    }
    this.#bytes = bytes.subarray(0, size).slice();
    this.#slots = new Int32Array(2 ** Math.ceil(Math.log2(count * 2)));
    const mask = this.#slots.length - 1;
    for (let rank = 0; rank < count; rank++) {
      let slot = hash(this.#bytes, this.#offsets[rank] as number, this.#offsets[rank + 1] as number) & mask;
      while (this.#slots[slot] !== 0) slot = (slot + 1) & mask;
      this.#slots[slot] = rank + 1;
    }
  }

  count(text: string): number {
    // exec() on the one global regex: matchAll() would clone it (and compile the clone) on every call.
    const split = this.#split;
    split.lastIndex = 0;
    let total = 0;
    for (let match = split.exec(text); match !== null; match = split.exec(text)) {
      if (match[0] === '') split.lastIndex += 1;
      else total += this.#countPiece(match[0]);
    }
    return total;
  }

  #countPiece(text: string): number {
    if (this.#piece.length < text.length * 3) this.#piece = new Uint8Array(text.length * 3);
    const length = utf8.encodeInto(text, this.#piece).written;
    if (length <= maxMergedBytes) return this.#merge(0, length);
    // The merge is quadratic in a piece's length, and one unbroken run of letters is one piece: a
    // 100 KB word took 7 s. Such a piece is counted window by window, a slight overcount of text no
    // model tokenises well anyway; words and numbers of ordinary text are far shorter than a window.
    let total = 0;
    for (let from = 0; from < length; from += maxMergedBytes) total += this.#merge(from, Math.min(from + maxMergedBytes, length));
    return total;
  }

  /** Tokens in piece bytes [from, to) after tiktoken's merge. */
  #merge(from: number, to: number): number {
    const piece = this.#piece;
    const length = to - from;
    if (length <= 1) return length;
    if (this.#rank(piece, from, to) !== notAToken) return 1;
    if (this.#starts.length <= length) {
      this.#starts = new Int32Array(length + 1);
      this.#ranks = new Int32Array(length + 1);
    }
    // tiktoken's merge: parts begin at starts[0..parts], ranks[i] is the rank of parts i and i+1 joined.
    const starts = this.#starts;
    const ranks = this.#ranks;
    for (let i = 0; i <= length; i++) {
      starts[i] = from + i;
      ranks[i] = i + 2 <= length ? this.#rank(piece, from + i, from + i + 2) : notAToken;
    }
    let parts = length;
    while (parts > 1) {
      let lowest = notAToken;
      let at = -1;
      for (let i = 0; i < parts - 1; i++) {
        if ((ranks[i] as number) < lowest) {
          lowest = ranks[i] as number;
          at = i;
        }
      }
      if (at === -1) break;
      starts.copyWithin(at + 1, at + 2, parts + 1);
      ranks.copyWithin(at + 1, at + 2, parts + 1);
      parts--;
      ranks[at] = at + 2 <= parts ? this.#rank(piece, starts[at] as number, starts[at + 2] as number) : notAToken;
      if (at > 0) ranks[at - 1] = this.#rank(piece, starts[at - 1] as number, starts[at + 1] as number);
    }
    return parts;
  }

  #rank(piece: Uint8Array, start: number, end: number): number {
    const bytes = this.#bytes;
    const offsets = this.#offsets;
    const mask = this.#slots.length - 1;
    for (let slot = hash(piece, start, end) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.#slots[slot] as number;
      if (entry === 0) return notAToken;
      const from = offsets[entry - 1] as number;
      if ((offsets[entry] as number) - from !== end - start) continue;
      let i = 0;
      while (i < end - start && bytes[from + i] === piece[start + i]) i++;
      if (i === end - start) return entry - 1;
    }
  }
}

/** FNV-1a over bytes[start, end). */
function hash(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193);
  return h >>> 0;
}

/** o200k_base, from the rank file gpt-tokenizer ships beside its code. */
export async function loadO200kBase(): Promise<BpeTokenCounter> {
  const main = createRequire(import.meta.url).resolve('gpt-tokenizer');
  const ranks = await readFile(new URL('../data/o200k_base.tiktoken', pathToFileURL(main)));
  return new BpeTokenCounter(ranks, O200K_TOKEN_SPLIT_REGEX);
}
