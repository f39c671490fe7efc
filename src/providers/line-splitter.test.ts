import { describe, expect, it } from 'vitest';
import { LineSplitter } from './line-splitter.ts';
import { SseDecoder } from './sse-decoder.ts';

describe('LineSplitter', () => {
  it('splits across chunk boundaries, keeps multi-byte characters whole and drops CR before LF', () => {
    const splitter = new LineSplitter();
    const bytes = Buffer.from('héllo\r\nwör', 'utf8');
    const cut = bytes.indexOf(0xc3) + 1; // inside the two bytes of "é"
    expect(splitter.push(bytes.subarray(0, cut))).toEqual([]);
    expect(splitter.push(bytes.subarray(cut))).toEqual(['héllo']);
    expect(splitter.push(Buffer.from('ld\n\nlast'))).toEqual(['wörld', '']);
    expect(splitter.end()).toBe('last');
    expect(splitter.end()).toBeUndefined();
  });

  it('decodes chunks that end on a whole character alone, then one cut inside a character, then a cut-off end', () => {
    const splitter = new LineSplitter();
    expect(splitter.push(Buffer.from('data: “quoted” ☃\n\nda', 'utf8'))).toEqual(['data: “quoted” ☃', '']);
    const snowman = Buffer.from('ta: ☃☃\n', 'utf8');
    const cut = snowman.indexOf(0xe2) + 2; // inside the three bytes of the first "☃"
    expect(splitter.push(snowman.subarray(0, cut))).toEqual([]);
    expect(splitter.push(snowman.subarray(cut))).toEqual(['data: ☃☃']);
    expect(splitter.push(Buffer.from([0x61, 0xe2, 0x98]))).toEqual([]);
    expect(splitter.end()).toBe('a\ufffd');
  });
});

describe('SseDecoder', () => {
  it('joins multi-line data, skips comments and other fields, and flushes an unterminated event', () => {
    const decoder = new SseDecoder();
    const lines = [': keep-alive', 'event: message', 'data: {"a":1}', '', 'data:one', 'data: two', '', 'id: 3', 'data: tail'];
    const events = lines.map((line) => decoder.push(line)).filter((data) => data !== undefined);
    expect(events).toEqual(['{"a":1}', 'one\ntwo']);
    expect(decoder.flush()).toBe('tail');
    expect(['data:', ''].map((line) => decoder.push(line))).toEqual([undefined, '']);
  });
});
