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
  { limit: 10, remaining: requests, resetMs: 60_000 },
  { limit: 1_000, remaining: tokens, resetMs: 30_000 },
];
const remaining = (allowed: ReturnType<EarlyStarts['allow']>) => allowed?.map((state) => state.remaining);

describe('EarlyStarts', () => {
  it('allows an early start only after a fresh verdict that leaves half of every limit, counting the early starts since', () => {
    const early = new EarlyStarts();
    expect(early.allow('t', limits, 100, 0)).toBeUndefined();
    early.admitted('t', states(7, 900), 0);
    // the states once it is counted, for the x-ratelimit-* headers of an early answer
    expect(early.allow('t', limits, 100, 10)).toEqual(states(6, 800));
    expect(remaining(early.allow('t', limits, 100, 20))).toEqual([5, 700]);
    expect(early.allow('t', limits, 100, 30)).toBeUndefined(); // 4 requests would be under half of 10
    early.admitted('t', states(9, 900), 40);
    expect(early.allow('t', limits, 500, 50)).toBeUndefined(); // 400 tokens would be under half of 1,000
    expect(early.allow('t', limits, 100, 1_041)).toBeUndefined(); // the verdict is over a second old
  });

  it('waits for verdicts after a refusal, and for a view of other limits after they changed', () => {
    const early = new EarlyStarts();
    early.admitted('t', states(9, 900), 0);
    early.forget('t');
    expect(early.allow('t', limits, 1, 1)).toBeUndefined();
    early.admitted('t', [{ limit: 10, remaining: 9, resetMs: 0 }], 2);
    expect(early.allow('t', limits, 1, 3)).toBeUndefined();
    early.admitted('t', [{ limit: 20, remaining: 19, resetMs: 0 }, { limit: 1_000, remaining: 900, resetMs: 0 }], 4);
    expect(early.allow('t', limits, 1, 5)).toBeUndefined(); // the requests limit is 10 now
  });
});
