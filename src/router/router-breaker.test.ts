import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { capturedLogger, expectRejection, inference, ManualClock } from '../../test/router/harness.ts';
import { startFakeUpstream, type FakeUpstream } from '../../test/testkit/fake-upstream.ts';
import { createRouter, type Router } from './router.ts';
import type { TenantRoutingPrefs } from './tenant-routing.ts';

// Breakers through the router with a hand-moved clock: open after 2 failures, 1 s cooldown.

let upA: FakeUpstream;
let upB: FakeUpstream;
let router: Router;
let clock: ManualClock;
let logs: Record<string, unknown>[];
const preferA: TenantRoutingPrefs = { preferredProvider: 'a', autoFailover: true };
const request = { messages: [{ role: 'user', content: 'hello' }] };
const breakerOf = (name: string) => router.health().find((d) => d.name === name)?.breaker;

beforeAll(async () => {
  [upA, upB] = await Promise.all([startFakeUpstream(), startFakeUpstream()]);
});
afterAll(async () => {
  await Promise.all([upA.close(), upB.close()]);
});
beforeEach(() => {
  upA.reset();
  upB.reset();
  clock = new ManualClock();
  const captured = capturedLogger();
  logs = captured.lines;
  router = createRouter({
    inference: inference({
      providers: [
        { name: 'a', type: 'openai', baseUrl: upA.openaiBaseUrl },
        { name: 'b', type: 'openai', baseUrl: upB.openaiBaseUrl },
      ],
      models: [
        { name: 'chat', deployments: [{ provider: 'a', model: 'm' }, { provider: 'b', model: 'm' }] },
        { name: 'solo', deployments: [{ provider: 'a', model: 'm' }] },
      ],
      routing: { maxAttempts: 2, circuitBreaker: { failures: 2, cooldownMs: 1_000 } },
    }),
    logger: captured.logger,
    now: clock.now,
    backoff: { baseMs: 1, maxMs: 2 },
  });
});
afterEach(() => router.close());

describe('circuit breaker in routing', () => {
  it('opens after consecutive failures, skips the deployment, half-opens after the cooldown and closes on a good probe', async () => {
    upA.setBehaviour({ fail: 500 });
    for (let i = 0; i < 2; i++) {
      expect(await router.chat('chat', request, { tenant: preferA })).toMatchObject({ deployment: { provider: 'b' }, attempts: 2 });
    }
    expect(breakerOf('a/m')).toBe('open');
    expect(logs.some((line) => line.msg?.toString().startsWith('circuit breaker opened') && line.deployment === 'a/m')).toBe(true);

    for (let i = 0; i < 5; i++) {
      expect(await router.chat('chat', request, { tenant: preferA })).toMatchObject({ deployment: { provider: 'b' }, attempts: 1 });
    }
    expect(upA.requests).toHaveLength(2);

    clock.advance(1_000);
    expect(breakerOf('a/m')).toBe('half-open');
    upA.reset();
    expect(await router.chat('chat', request, { tenant: preferA })).toMatchObject({ deployment: { provider: 'a' }, attempts: 1 });
    expect(breakerOf('a/m')).toBe('closed');
  });

  it('re-opens when the probe fails', async () => {
    upA.setBehaviour({ fail: 500 });
    for (let i = 0; i < 2; i++) await router.chat('chat', request, { tenant: preferA });
    clock.advance(1_000);
    expect(await router.chat('chat', request, { tenant: preferA })).toMatchObject({ deployment: { provider: 'b' }, attempts: 2 });
    expect(upA.requests).toHaveLength(3);
    expect(breakerOf('a/m')).toBe('open');
    await router.chat('chat', request, { tenant: preferA });
    expect(upA.requests).toHaveLength(3);
  });

  it('answers UPSTREAM_UNAVAILABLE at once when every deployment’s breaker is open', async () => {
    upA.setBehaviour({ fail: 500 });
    expect(await expectRejection(router.chat('solo', request))).toMatchObject({ code: 'UPSTREAM_ERROR', details: { attempts: 2 } });
    expect(breakerOf('a/m')).toBe('open');
    const started = performance.now();
    // "At once": well under the 1 s cooldown, with room for a loaded machine; no upstream request is the real proof.
    const error = await expectRejection(router.stream('solo', request));
    expect(performance.now() - started).toBeLessThan(250);
    expect(error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', details: { retryAfterMs: 1_000 } });
    expect(upA.requests).toHaveLength(2);
    expect(router.model('solo').available).toBe(false);
  });

  it('lets a single probe through while half-open; others are refused at once', async () => {
    upA.setBehaviour({ fail: 500 });
    await expectRejection(router.chat('solo', request));
    clock.advance(1_000);
    upA.setBehaviour({ fail: null, firstTokenDelayMs: 100 });
    const probe = router.chat('solo', request);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await expectRejection(router.chat('solo', request))).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect((await probe).attempts).toBe(1);
    expect(breakerOf('a/m')).toBe('closed');
    await router.chat('solo', request);
    expect(upA.requests).toHaveLength(4);
  });

  it('does not count the caller’s 4xx against the deployment', async () => {
    upA.setBehaviour({ fail: 400 });
    for (let i = 0; i < 4; i++) await expectRejection(router.chat('solo', request));
    expect(breakerOf('a/m')).toBe('closed');
  });
});
