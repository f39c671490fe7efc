import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { capturedLogger, countByModel, inference, seededRandom } from '../../test/router/harness.ts';
import { startFakeUpstream, type FakeUpstream } from '../../test/testkit/fake-upstream.ts';
import { createRouter, type Router } from './router.ts';
import type { Strategy } from './strategies.ts';

// Distribution of each strategy over many real requests to the fake upstream. Deployments are told
// apart by their upstream model name, which the fake also reads for per-deployment delays.

let upstream: FakeUpstream;
const routers: Router[] = [];
beforeAll(async () => {
  upstream = await startFakeUpstream();
});
afterAll(async () => {
  await Promise.all(routers.map((router) => router.close()));
  await upstream.close();
});
beforeEach(() => upstream.reset());

function routerFor(strategy: Strategy, deployments: { model: string; weight: number }[]): Router {
  const router = createRouter({
    inference: inference({
      providers: [{ name: 'gpu', type: 'openai', baseUrl: upstream.openaiBaseUrl }],
      models: [{ name: 'chat', deployments: deployments.map((d) => ({ provider: 'gpu', ...d })) }],
      routing: { strategy },
    }),
    logger: capturedLogger().logger,
    random: seededRandom(42),
  });
  routers.push(router);
  return router;
}

const request = { messages: [{ role: 'user', content: 'hi' }] };

describe('routing strategies', () => {
  it('round-robin follows the weights exactly over whole cycles, spreading the heavy deployment', async () => {
    const router = routerFor('round-robin', [
      { model: 'a', weight: 3 },
      { model: 'b', weight: 1 },
    ]);
    const order: string[] = [];
    for (let i = 0; i < 400; i++) order.push((await router.chat('chat', request)).deployment.model);
    expect(countByModel(upstream.requests)).toEqual({ a: 300, b: 100 });
    // Smooth WRR interleaves: never more than three of "a" in a row.
    expect(order.join('')).not.toContain('aaaa');
  });

  it('least-inflight shares idle deployments in proportion to their weights', async () => {
    const router = routerFor('least-inflight', [
      { model: 'a', weight: 2 },
      { model: 'b', weight: 1 },
    ]);
    for (let i = 0; i < 600; i++) await router.chat('chat', request);
    const counts = countByModel(upstream.requests);
    expect(counts.a).toBeGreaterThan(400 - 45);
    expect(counts.a).toBeLessThan(400 + 45);
    expect((counts.a ?? 0) + (counts.b ?? 0)).toBe(600);
  });

  it('least-inflight sends most concurrent load to the deployment that frees up fastest', async () => {
    const router = routerFor('least-inflight', [
      { model: 'fast', weight: 1 },
      { model: 'slow?first-token-delay-ms=40', weight: 1 },
    ]);
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 20; i++) await router.chat('chat', request);
      }),
    );
    const counts = countByModel(upstream.requests);
    expect(counts.fast).toBeGreaterThan(160 * 0.75);
    expect(router.health().every((d) => d.inflight === 0)).toBe(true);
  });

  it('latency prefers the deployment with the lower time to first token, still sampling the other', async () => {
    const router = routerFor('latency', [
      { model: 'slow?first-token-delay-ms=25', weight: 1 },
      { model: 'fast', weight: 1 },
    ]);
    for (let i = 0; i < 80; i++) {
      const stream = await router.stream('chat', request);
      for await (const chunk of stream) void chunk;
    }
    const counts = countByModel(upstream.requests);
    expect(counts.fast).toBeGreaterThanOrEqual(80 * 0.85);
    expect(counts['slow?first-token-delay-ms=25']).toBeGreaterThanOrEqual(1);
    const [slow, fast] = router.health();
    expect(slow?.latencyMs).toBeGreaterThan(20);
    expect(fast?.latencyMs).toBeLessThan(slow?.latencyMs ?? 0);
  });
});
