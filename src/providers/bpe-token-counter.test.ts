import { countTokens as reference } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { loadO200kBase } from './bpe-token-counter.ts';

/** Strings of printable ASCII, Latin and other scripts, CJK, Cyrillic and emoji, from a fixed seed. */
function randomTexts(count: number): string[] {
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const ranges = [[32, 95], [0xa0, 0x2f0], [0x4e00, 0x5000], [0x400, 0x200], [0x1f300, 0x300]] as const;
  return Array.from({ length: count }, () => {
    let text = '';
    for (let i = Math.floor(next() * 60); i >= 0; i--) {
      const [from, size] = ranges[Math.min(4, Math.floor(next() ** 1.5 * 5))] as readonly [number, number];
      text += String.fromCodePoint(from + Math.floor(next() * size));
    }
    return text;
  });
}

describe('o200k_base token counter', () => {
  it('counts what gpt-tokenizer counts', async () => {
    const counter = await loadO200kBase();
    const texts = [
      '',
      'Hello world',
      "I'm here, you're there. THEY'LL go!",
      '日本語のテキストです。东京是一个大城市。',
      'مرحبا بالعالم — Привет, мир!',
      '👋🏽 family 👨‍👩‍👧‍👦 🎉🎉',
      '  \n\n\t  spaces   and\r\n lines  ',
      '12345678901234567890 3.14159 1e10',
      'a'.repeat(250),
      'naïve café Ångström ＡＢＣ',
      'export function f(x: number): string { return `${x}`; } // done',
      JSON.stringify({ model: 'qwen2.5-coder', messages: [{ role: 'user', content: 'Summarise this.' }] }),
      ...randomTexts(300),
    ];
    for (const text of texts) expect(counter.count(text), JSON.stringify(text)).toBe(reference(text));
  });

  it('counts a piece far longer than any word in time linear in its length, close to the exact count', async () => {
    const counter = await loadO200kBase();
    const exact = reference('x'.repeat(4000));
    expect(counter.count('x'.repeat(4000))).toBeGreaterThanOrEqual(exact);
    expect(counter.count('x'.repeat(4000))).toBeLessThanOrEqual(Math.ceil(exact * 1.05));
    const started = performance.now();
    const tokens = counter.count('x'.repeat(1_000_000));
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(tokens).toBeGreaterThan(1_000_000 / 10);
  });

  it('counts special tokens as the text they are', async () => {
    const counter = await loadO200kBase();
    expect(counter.count('<|endoftext|>')).toBe(reference('<|endoftext|>', { disallowedSpecial: new Set() }));
  });
});
