import { describe, expect, it } from 'vitest';
import { randomId } from './ids.ts';

describe('randomId', () => {
  it('spells ids of the asked length in lower-case alphanumerics, longer than its scratch space too', () => {
    for (const length of [1, 8, 24, 64, 65, 200]) {
      const id = randomId(length);
      expect(id).toHaveLength(length);
      expect(id).toMatch(/^[0-9a-z]+$/);
    }
  });

  it('draws a different id each time', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => randomId(24)));
    expect(ids.size).toBe(1000);
  });

  it('hands back ids that later calls do not change', () => {
    const first = randomId(24);
    const copy = `${first}`;
    randomId(24);
    randomId(64);
    expect(first).toBe(copy);
  });
});
