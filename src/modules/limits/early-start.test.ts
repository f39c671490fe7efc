import { describe, expect, it } from 'vitest';
import { EarlyStarts } from './early-start.ts';
import type { EffectiveLimits } from './limits-directory.ts';

const limits = {
  specs: [
    { kind: 'requests', scope: 'tenant', name: 'rpm', limit: 10, windowMs: 60_000 },
    { kind: 'tokens', scope: 'tenant', name: 'tpm', limit: 1_000, windowMs: 60_000 },
  ],
} as unknown as EffectiveLimits;
const states = (requests: number, tokens: number) => [
  { limit: 10, remaining: requests, resetMs: 0 },
  { limit: 1_000, remaining: tokens, resetMs: 0 },
];

describe('EarlyStarts', () => {
  it('allows an early start only after a fresh verdict that leaves half of every limit, counting the early starts since', () => {
    const early = new EarlyStarts();
    expect(early.allow('t', limits, 100, 0)).toBe(false);
    early.admitted('t', states(7, 900), 0);
    expect(early.allow('t', limits, 100, 10)).toBe(true); // 6 requests and 800 tokens left after it
    expect(early.allow('t', limits, 100, 20)).toBe(true); // 5 and 700
    expect(early.allow('t', limits, 100, 30)).toBe(false); // 4 requests would be under half of 10
    early.admitted('t', states(9, 900), 40);
    expect(early.allow('t', limits, 500, 50)).toBe(false); // 400 tokens would be under half of 1,000
    expect(early.allow('t', limits, 100, 1_041)).toBe(false); // the verdict is over a second old
  });

  it('waits for verdicts after a refusal, and for a view of other limits after they changed', () => {
    const early = new EarlyStarts();
    early.admitted('t', states(9, 900), 0);
    early.forget('t');
    expect(early.allow('t', limits, 1, 1)).toBe(false);
    early.admitted('t', [{ limit: 10, remaining: 9, resetMs: 0 }], 2);
    expect(early.allow('t', limits, 1, 3)).toBe(false);
  });
});
