import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { capturedLogger, expectRejection, inference } from '../../test/router/harness.ts';
import { startFakeUpstream, type FakeUpstream } from '../../test/testkit/fake-upstream.ts';
import { createRouter, type Router } from './router.ts';

// Per-tenant routing settings: preference, failover switch, overrides, allow-list, own credentials.

let upA: FakeUpstream;
let upB: FakeUpstream;
let router: Router;
const request = { messages: [{ role: 'user', content: 'hello' }] };

beforeAll(async () => {
  [upA, upB] = await Promise.all([startFakeUpstream(), startFakeUpstream()]);
  router = createRouter({
    inference: inference({
      providers: [
        { name: 'a', type: 'openai', baseUrl: upA.openaiBaseUrl, apiKeyEnv: 'TEST_A_KEY' },
        { name: 'b', type: 'openai', baseUrl: upB.openaiBaseUrl },
      ],
      models: [
        { name: 'chat', deployments: [{ provider: 'a', model: 'chat-a' }, { provider: 'b', model: 'chat-b' }], price: { inputPerMillion: '1.00', outputPerMillion: '2.00' } },
        { name: 'big', contextWindow: 32768, deployments: [{ provider: 'b', model: 'big-b' }] },
        { name: 'embed', kind: 'embedding', deployments: [{ provider: 'a', model: 'embed-a' }] },
      ],
      routing: { strategy: 'round-robin', circuitBreaker: { failures: 100, cooldownMs: 1_000 } },
    }),
    logger: capturedLogger().logger,
    env: { TEST_A_KEY: 'platform-key' },
    backoff: { baseMs: 1, maxMs: 5 },
  });
});
afterAll(async () => {
  await router.close();
  await Promise.all([upA.close(), upB.close()]);
});
beforeEach(() => {
  upA.reset();
  upB.reset();
});

describe('tenant routing preferences', () => {
  it('sends every request to the preferred provider while it is healthy', async () => {
    for (let i = 0; i < 10; i++) {
      const routed = await router.chat('chat', request, { tenant: { preferredProvider: 'b', autoFailover: true } });
      expect(routed.deployment.provider).toBe('b');
    }
    expect(upA.requests).toHaveLength(0);
  });

  it('falls back from the preferred provider when auto-failover is on', async () => {
    upB.setBehaviour({ fail: 502 });
    const routed = await router.chat('chat', request, { tenant: { preferredProvider: 'b', autoFailover: true } });
    expect(routed).toMatchObject({ deployment: { provider: 'a' }, attempts: 2 });
  });

  it('never falls back when auto-failover is off', async () => {
    upB.setBehaviour({ fail: 502 });
    const error = await expectRejection(router.chat('chat', request, { tenant: { preferredProvider: 'b', autoFailover: false } }));
    expect(error).toMatchObject({ code: 'UPSTREAM_ERROR' });
    expect(upA.requests).toHaveLength(0);
    expect(upB.requests.length).toBeGreaterThanOrEqual(1);
  });

  it('serves a requested model through the tenant’s override', async () => {
    const routed = await router.chat('chat', request, { tenant: { autoFailover: true, modelOverrides: { chat: 'big' } } });
    expect(routed).toMatchObject({ model: 'big', deployment: { provider: 'b', model: 'big-b' } });
    expect(upB.requests.at(-1)?.body).toMatchObject({ model: 'big-b' });
  });

  it('reports a model outside the allow-list exactly like an unknown one', async () => {
    const tenant = { autoFailover: true, allowedModels: ['chat'] };
    const forbidden = await expectRejection(router.chat('big', request, { tenant }));
    const unknown = await expectRejection(router.chat('nope', request));
    expect(forbidden).toMatchObject({ code: 'NOT_FOUND', message: 'model "big" was not found' });
    expect(unknown).toMatchObject({ code: 'NOT_FOUND', message: 'model "nope" was not found' });
    expect(router.models(tenant).map((m) => m.name)).toEqual(['chat']);
    expect(() => router.model('big', tenant)).toThrow('model "big" was not found');
  });

  it('uses the tenant’s own credential for its provider, and the platform key elsewhere', async () => {
    const tenant = { preferredProvider: 'a', autoFailover: true, credentials: { a: 'tenant-key' } };
    await router.chat('chat', request, { tenant });
    await router.chat('chat', request, { tenant: { preferredProvider: 'a', autoFailover: true } });
    expect(upA.requests.map((r) => r.headers.authorization)).toEqual(['Bearer tenant-key', 'Bearer platform-key']);
  });

  it('refuses chat on an embedding model and embeddings on a chat model', async () => {
    expect(await expectRejection(router.chat('embed', request))).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await expectRejection(router.embeddings('chat', { input: 'x' }))).toMatchObject({ code: 'BAD_USER_INPUT' });
    const routed = await router.embeddings('embed', { input: ['x', 'y'] });
    expect(routed.result.embeddings).toHaveLength(2);
  });

  it('lists models with what a catalogue needs, under the names a tenant asks for', () => {
    expect(router.models()).toEqual([
      { name: 'chat', servedBy: 'chat', kind: 'chat', contextWindow: null, price: { inputPerMillion: '1.00', outputPerMillion: '2.00', currency: 'USD' }, available: true },
      { name: 'big', servedBy: 'big', kind: 'chat', contextWindow: 32768, price: null, available: true },
      { name: 'embed', servedBy: 'embed', kind: 'embedding', contextWindow: null, price: null, available: true },
    ]);
    const aliased = router.models({ autoFailover: true, modelOverrides: { 'gpt-4o': 'big' } });
    expect(aliased.find((m) => m.name === 'gpt-4o')).toMatchObject({ servedBy: 'big', contextWindow: 32768 });
  });
});
