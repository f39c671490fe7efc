import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asAdmin, graphqlRequest, testAdminKey, type TestApp } from '../testkit/app.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';
import { usageStoreBackends } from '../testkit/usage-stores.ts';

// Feedback on a request: POST /v1/feedback and recordFeedback, from the tenant that made the request
// only, on every usage store. That a repeat counts once is proven by the experiment results.

const backends = usageStoreBackends();

describe.each(backends)('feedback on $name', (backend) => {
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let dispose: () => Promise<void>;
  const tenants: string[] = [];

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 1 } });
    ({ gateway, dispose } = await backend.start({
      inference: { providers: [{ name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl }], models: [{ name: 'chat', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'up', weight: 1 }] }] },
    }));
    for (const name of ['Feedback A', 'Feedback B']) {
      const created = await graphqlRequest<{ createTenant: { tenant: { id: string } } }>(gateway.url, 'mutation($name: String!) { createTenant(input: { name: $name, plan: "pro" }) { tenant { id } } }', { name }, asAdmin());
      tenants.push(created.data!.createTenant.tenant.id);
    }
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenants[0]! }, maxRetries: 0 });
    await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-request-id': 'fb-request-1' } });
  });
  afterAll(async () => {
    await dispose?.();
    await upstream?.close();
  });

  const post = (tenantId: string, body: unknown) =>
    fetch(`${gateway.url}/v1/feedback`, { method: 'POST', headers: { ...asAdmin(tenantId), 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('records feedback on a request answered a moment ago, numbers and booleans alike', async () => {
    const thumbs = await post(tenants[0]!, { request_id: 'fb-request-1', metric: 'thumbs_up', value: true });
    expect(thumbs.status).toBe(200);
    expect(await thumbs.json()).toEqual({ object: 'feedback', request_id: 'fb-request-1', metric: 'thumbs_up', value: 1 });
    const score = await post(tenants[0]!, { request_id: 'fb-request-1', metric: 'score', value: 4.5 });
    expect(await score.json()).toMatchObject({ metric: 'score', value: 4.5 });
    const again = await post(tenants[0]!, { request_id: 'fb-request-1', metric: 'thumbs_up', value: false });
    expect(again.status).toBe(200);

    const viaGraphql = await graphqlRequest<{ recordFeedback: { feedback: { requestId: string; metric: string; value: number } } }>(
      gateway.url,
      'mutation($input: RecordFeedbackInput!) { recordFeedback(input: $input) { feedback { requestId metric value } } }',
      { input: { requestId: 'fb-request-1', metric: 'helpful', booleanValue: false } },
      asAdmin(tenants[0]),
    );
    expect(viaGraphql.data?.recordFeedback.feedback).toEqual({ requestId: 'fb-request-1', metric: 'helpful', value: 0 });
  });

  it("refuses feedback on another tenant's request as on one that does not exist", async () => {
    for (const requestId of ['fb-request-1', 'no-such-request']) {
      const response = await post(tenants[1]!, { request_id: requestId, metric: 'thumbs_up', value: true });
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: { message: string } }).error.message).toBe(`request "${requestId}" was not found`);
    }
  });

  it('names the wrong field of a bad request', async () => {
    const cases: [unknown, string][] = [
      [{ request_id: 'fb-request-1', metric: 'has space', value: 1 }, 'metric'],
      [{ request_id: 'fb-request-1', metric: 'ok', value: 'yes' }, 'value'],
      [{ request_id: '', metric: 'ok', value: 1 }, 'request_id'],
    ];
    for (const [body, field] of cases) {
      const response = await post(tenants[0]!, body);
      expect(response.status).toBe(400);
      expect(JSON.stringify(await response.json())).toContain(field);
    }
    const both = await graphqlRequest(gateway.url, 'mutation($input: RecordFeedbackInput!) { recordFeedback(input: $input) { feedback { value } } }', { input: { requestId: 'fb-request-1', metric: 'x', value: 1, booleanValue: true } }, asAdmin(tenants[0]));
    expect(both.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
