import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageStores } from '../../../test/testkit/usage-stores.ts';
import { newUsageEvent, type UsageEvent } from '../usage/usage-event.ts';
import type { Feedback, UsageStore } from '../usage/usage-store.ts';
import { experimentVerdict } from './experiment-verdict.ts';

// The verdict over events and feedback seeded into each usage store: a slower variant and one with
// worse feedback are found significantly different from the baseline; an A/A split is not.

function seeded(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const DAY = Date.UTC(2026, 10, 20);
const RANGE = { from: new Date(DAY), to: new Date(DAY + 86_400_000) };

/** Requests of one variant: latency around `latencyMs` (uniform +-40), thumbs up with probability `thumbsUp`. */
function arm(experimentId: string, variant: string, n: number, latencyMs: number, thumbsUp: number, random: () => number): { events: UsageEvent[]; feedback: Feedback[] } {
  const events: UsageEvent[] = [];
  const feedback: Feedback[] = [];
  for (let i = 0; i < n; i++) {
    const requestId = `${experimentId}-${variant}-${i}`;
    const ts = new Date(DAY + Math.floor(random() * 86_000_000));
    events.push(
      newUsageEvent({
        requestId,
        ts,
        tenantId: 't-verdict',
        requestedModel: 'chat',
        servedModel: variant,
        kind: 'chat',
        node: 'n',
        promptTokens: 100,
        completionTokens: 50,
        latencyMs: Math.round(latencyMs - 40 + random() * 80),
        ttftMs: 20,
        costMicros: variant === 'cheap' ? 150 : 450,
        experimentId,
        variant,
      }),
    );
    feedback.push({ tenantId: 't-verdict', requestId, metric: 'thumbs_up', value: random() < thumbsUp ? 1 : 0, ts });
  }
  return { events, feedback };
}

describe.each(usageStores())('experiment verdict on $name', (underTest) => {
  let store: UsageStore;
  let dispose: () => Promise<void>;

  beforeAll(async () => {
    ({ store, dispose } = await underTest.create());
    const random = seeded(7);
    const arms = [
      arm('exp-ab', 'base', 300, 200, 0.7, random),
      arm('exp-ab', 'slow', 300, 230, 0.7, random),
      arm('exp-ab', 'cheap', 300, 200, 0.5, random),
      arm('exp-aa', 'a', 300, 200, 0.7, random),
      arm('exp-aa', 'b', 300, 200, 0.7, random),
    ];
    await store.insert(arms.flatMap((a) => a.events));
    for (const entry of arms.flatMap((a) => a.feedback)) await store.insertFeedback(entry);
  }, 120_000);
  afterAll(async () => {
    await dispose?.();
  });

  it('finds a slower variant and one with worse feedback significantly different, and says so in words', async () => {
    const variants = [
      { name: 'base', model: 'm-base', weight: 1 },
      { name: 'slow', model: 'm-slow', weight: 1 },
      { name: 'cheap', model: 'm-cheap', weight: 1 },
    ];
    const results = experimentVerdict(variants, await store.experimentStats({ experimentId: 'exp-ab', range: RANGE }));
    expect(results.variants.map((v) => [v.name, v.requests])).toEqual([['base', 300], ['slow', 300], ['cheap', 300]]);
    const find = (variant: string, metric: string) => results.comparisons.find((c) => c.variant === variant && c.metric === metric)!;
    expect(find('slow', 'latencyMs')).toMatchObject({ significant: true });
    expect(find('slow', 'latencyMs').difference).toBeGreaterThan(20);
    expect(find('slow', 'thumbs_up').significant).toBe(false);
    expect(find('cheap', 'thumbs_up')).toMatchObject({ significant: true });
    expect(find('cheap', 'thumbs_up').difference).toBeLessThan(-0.1);
    expect(find('cheap', 'latencyMs').significant).toBe(false);
    expect(results.recommendation).toMatch(/^slow costs about the same as base; significantly worse: latency \d+ ms slower \(p < 0\.001\); no significant change in error rate, thumbs_up \(n = 600\)\. Keep base\./);
    expect(results.recommendation).toMatch(/cheap costs 67% less than base; significantly worse: thumbs_up down 0\.\d+ \(p [<=] 0\.\d+\); no significant change in error rate, latency \(n = 600\)\. Keep base\.$/);
  });

  it('finds nothing significant in an A/A split', async () => {
    const results = experimentVerdict([{ name: 'a', model: 'm', weight: 1 }, { name: 'b', model: 'm', weight: 1 }], await store.experimentStats({ experimentId: 'exp-aa', range: RANGE }));
    expect(results.comparisons.map((c) => c.metric).sort()).toEqual(['costMicros', 'errorRate', 'latencyMs', 'thumbs_up']);
    expect(results.comparisons.filter((c) => c.significant)).toEqual([]);
    expect(results.recommendation).toMatch(/no significant change in error rate, latency, thumbs_up \(n = 600\)\. No reason yet to change\./);
  });

  it('calls nothing significant below the minimum sample', async () => {
    const results = experimentVerdict([{ name: 'base', model: 'm', weight: 1 }, { name: 'slow', model: 'm', weight: 1 }], await store.experimentStats({ experimentId: 'exp-ab', range: { from: RANGE.from, to: new Date(DAY + 3_000_000) } }));
    expect(results.comparisons.every((c) => !c.significant)).toBe(true);
    expect(results.recommendation).toMatch(/^Not enough data for slow/);
  });
});
