import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomId } from '../../src/shared/ids.ts';
import { asAdmin, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';
import { serviceUrl } from '../testkit/services.ts';
import { startTcpProxy, type TcpProxy } from '../testkit/tcp-proxy.ts';

// "Redis stops": the app reaches Redis through a proxy this test breaks and mends, so the shared
// server other test files use keeps running. Rate limits fail open; a hard quota fails closed (503).

const redisUrl = serviceUrl('REDIS');

describe.runIf(redisUrl)('limits when Redis is unreachable', () => {
  let upstream: FakeUpstream;
  let proxy: TcpProxy;
  let gateway: TestApp;
  let soft: string;
  let hard: string;
  const messages = [{ role: 'user' as const, content: 'Is anybody there' }];

  const createTenant = async (plan: string) => {
    const result = await graphqlRequest<{ createTenant: { tenant: { id: string } } }>(gateway.url, 'mutation($p: String) { createTenant(input: { name: "Outage", plan: $p }) { tenant { id } } }', { p: plan }, asAdmin());
    return result.data!.createTenant.tenant.id;
  };
  const client = (tenantId: string) => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId }, maxRetries: 0 });
  const used = async (tenantId: string) =>
    (await graphqlRequest<{ tenant: { quota: { used: number } } }>(gateway.url, 'query($id: ID!) { tenant(id: $id) { quota { used } } }', { id: tenantId }, asAdmin())).data!.tenant.quota.used;
  const metric = async (handling: string) => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`tollgate_limit_store_failures_total{operation="admit",handling="${handling}"}`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 5 } });
    const target = new URL(redisUrl!);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
    gateway = await startTestApp({
      redisUrl: proxy.url(redisUrl!),
      inference: {
        providers: [{ name: 'gpu', type: 'openai', baseUrl: upstream.openaiBaseUrl }],
        models: [{ name: 'chat-model', kind: 'chat', deployments: [{ provider: 'gpu', model: 'upstream', weight: 1 }] }],
      },
      config: { limits: { keyPrefix: `test:down:${randomId(8)}:` } },
    });
    soft = await createTenant('pro');
    hard = await createTenant('free');
  });
  afterAll(async () => {
    proxy?.setMode('pass');
    await gateway?.stop();
    await proxy?.close();
    await upstream?.close();
  });

  it('fails open for rate limits and closed for a hard quota, with a warning and a metric, and recovers', async () => {
    const before = await client(soft).chat.completions.create({ model: 'chat-model', messages }).withResponse();
    expect(before.response.headers.get('x-ratelimit-limit-requests')).toBe('120');
    await client(hard).chat.completions.create({ model: 'chat-model', messages });

    proxy.setMode('refuse');
    // Past a second, the last verdict no longer lets a request be answered before its own.
    await new Promise((resolve) => setTimeout(resolve, 1_100));

    // A soft-quota tenant is served without limits (nothing it uses goes unbilled)...
    const started = performance.now();
    const served = await client(soft).chat.completions.create({ model: 'chat-model', messages }).withResponse();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(served.response.status).toBe(200);
    expect(served.response.headers.get('x-ratelimit-limit-requests')).toBeNull();
    // ...a hard-quota tenant is refused: the quota that protects the platform's money cannot be checked.
    const refused = await client(hard).chat.completions.create({ model: 'chat-model', messages }).then(
      () => undefined,
      (error: unknown) => error as InstanceType<typeof OpenAI.APIError>,
    );
    expect(refused?.status).toBe(503);
    expect(refused?.error).toMatchObject({ code: 'upstream_unavailable', type: 'service_unavailable' });
    expect(refused?.message).toMatch(/monthly quota cannot be checked/);
    expect(refused?.headers?.get('retry-after')).toBe('5');
    expect(await metric('fail_open')).toBeGreaterThanOrEqual(1);
    expect(await metric('fail_closed')).toBeGreaterThanOrEqual(1);
    expect(gateway.logs.some((line) => line.includes('rate limits are failing open'))).toBe(true);
    // The quota is still readable: from the usage store, while its counters are out of reach.
    await gateway.app.deps.usageMeter.flush();
    const total = before.data.usage!.total_tokens + served.data.usage!.total_tokens;
    expect(await used(soft)).toBe(total);

    proxy.setMode('pass');
    const deadline = Date.now() + 10_000;
    let back = false;
    while (!back && Date.now() < deadline) {
      back = await client(hard).chat.completions.create({ model: 'chat-model', messages }).then(
        () => true,
        () => false,
      );
      if (!back) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(back).toBe(true);
    const after = await client(soft).chat.completions.create({ model: 'chat-model', messages }).withResponse();
    expect(after.response.headers.get('x-ratelimit-limit-requests')).toBe('120');
    // The settlement made during the outage was retried: the counters count the request served then.
    const expected = total + after.data.usage!.total_tokens;
    const until = Date.now() + 5_000;
    while ((await used(soft)) !== expected && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await used(soft)).toBe(expected);
  });

  it('fails a budget with a hard stop closed and an alert-only budget open, and still shows what was spent', async () => {
    const stopped = await createTenant('pro');
    const alerted = await createTenant('pro');
    const setBudget = (tenantId: string, hardStop: boolean) =>
      graphqlRequest(gateway.url, 'mutation($i: SetBudgetInput!) { setBudget(input: $i) { budget { tenantId } } }', { i: { tenantId, monthlyLimit: '100.00', hardStop } }, asAdmin());
    expect((await setBudget(stopped, true)).errors).toBeUndefined();
    expect((await setBudget(alerted, false)).errors).toBeUndefined();
    await client(stopped).chat.completions.create({ model: 'chat-model', messages });

    proxy.setMode('refuse');
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const refused = await client(stopped).chat.completions.create({ model: 'chat-model', messages }).catch((error: unknown) => error as InstanceType<typeof OpenAI.APIError>);
      expect(refused).toMatchObject({ status: 503, error: { code: 'upstream_unavailable' } });
      expect((refused as InstanceType<typeof OpenAI.APIError>).message).toMatch(/budget cannot be checked/);
      expect((await client(alerted).chat.completions.create({ model: 'chat-model', messages }).withResponse()).response.status).toBe(200);
      const read = await graphqlRequest<{ tenant: { budgets: { spent: { amountMicros: string } }[] } }>(gateway.url, 'query($id: ID!) { tenant(id: $id) { budgets { spent { amountMicros } } } }', { id: alerted }, asAdmin());
      expect(read.errors).toBeUndefined();
      expect(read.data!.tenant.budgets).toEqual([{ spent: { amountMicros: '0' } }]);
    } finally {
      proxy.setMode('pass');
    }
  });
});
