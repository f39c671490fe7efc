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
});

describe('SseDecoder', () => {
  it('joins multi-line data, skips comments and other fields, and flushes an unterminated event', () => {
    const decoder = new SseDecoder();
    const lines = [': keep-alive', 'event: message', 'data: {"a":1}', '', 'data:one', 'data: two', '', 'id: 3', 'data: tail'];
    const events = lines.map((line) => decoder.push(line)).filter((data) => data !== undefined);
    expect(events).toEqual(['{"a":1}', 'one\ntwo']);
    expect(decoder.flush()).toBe('tail');
  });
});
