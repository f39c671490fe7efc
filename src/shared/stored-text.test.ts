import { describe, expect, it } from 'vitest';
import { storableText, storedTextProblem } from './stored-text.ts';

describe('storedTextProblem', () => {
  const rule = { maxLength: 8 };

  it('accepts names in any script, emoji (surrogate pairs) included', () => {
    for (const value of ['acme', 'Zürich', '東京', 'a😀b', '']) expect(storedTextProblem(value, rule)).toBeNull();
  });

  it('names what a store cannot hold or a name should not carry', () => {
    expect(storedTextProblem('a\u0000b', rule)).toBe('contains a NUL byte');
    expect(storedTextProblem('a\ud800b', rule)).toBe('contains a lone surrogate (not valid Unicode)');
    expect(storedTextProblem('a\udc00', rule)).toBe('contains a lone surrogate (not valid Unicode)');
    expect(storedTextProblem('\ud83d', rule)).toBe('contains a lone surrogate (not valid Unicode)');
    for (const control of ['\u0007', '\u001b', '\u007f', '\u0085', '\t', '\n', '\r']) {
      expect(storedTextProblem(`a${control}b`, rule), JSON.stringify(control)).toBe('contains a control character');
    }
    expect(storedTextProblem('x'.repeat(9), rule)).toBe('is longer than 8 characters');
    expect(storedTextProblem('x'.repeat(8), rule)).toBeNull();
  });

  it('lets free text keep its line breaks, but not other controls', () => {
    const multiline = { maxLength: 100, multiline: true };
    expect(storedTextProblem('line one\n\tline two\r\n', multiline)).toBeNull();
    expect(storedTextProblem('bell\u0007', multiline)).toBe('contains a control character');
  });
});

describe('storableText', () => {
  it('replaces NUL bytes and lone surrogates, and keeps everything else', () => {
    expect(storableText('a\u0000b\ud800c😀\n')).toBe('a\uFFFDb\uFFFDc😀\n');
    expect(storedTextProblem(storableText('\u0000\udc00'), { maxLength: 10 })).toBeNull();
  });
});
