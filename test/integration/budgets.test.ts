import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from 'graphql-ws';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { randomId } from '../../src/shared/ids.ts';
import { asAdmin, bearer, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';
import { serviceUrl } from '../testkit/services.ts';
import { sqlDialects, type TestSqlDatabase } from '../testkit/sql-databases.ts';

// Money budgets on two instances sharing Postgres and Redis: one spending counter, each threshold's
// alert once (subscription and webhook), and a hard stop overshot only by the requests in flight.

const redisUrl = serviceUrl('REDIS');
const postgres = sqlDialects().find((dialect) => dialect.name === 'postgres');

// 1,000 completion tokens at GBP 1,000 per million: exactly GBP 1.00 a request (prompt tokens are free).
const pricePerRequestMicros = 1_000_000;

describe.runIf(redisUrl && postgres)('money budgets across two instances', () => {
  let upstream: FakeUpstream;
  let database: TestSqlDatabase;
  let a: TestApp;
  let b: TestApp;
  let hookServer: Server;
  const hooks: string[] = [];
  const messages = [{ role: 'user' as const, content: 'Spend me' }];

  const gql = async <T,>(app: TestApp, query: string, variables: Record<string, unknown> = {}, headers = asAdmin()) => {
    const result = await graphqlRequest<T>(app.url, query, variables, headers);
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    return result.data as T;
  };
  const createTenant = async () => (await gql<{ createTenant: { tenant: { id: string } } }>(a, 'mutation { createTenant(input: { name: "Spender", plan: "enterprise" }) { tenant { id } } }')).createTenant.tenant.id;
  const createKey = async (tenantId: string) =>
    (await gql<{ createApiKey: { apiKey: { id: string }; secret: string } }>(a, 'mutation($t: ID!) { createApiKey(input: { tenantId: $t, name: "k" }) { apiKey { id } secret } }', { t: tenantId })).createApiKey;
  const setBudget = (input: Record<string, unknown>) =>
    gql<{ setBudget: { budget: { currency: string; limit: { amount: string } } } }>(a, 'mutation($i: SetBudgetInput!) { setBudget(input: $i) { budget { currency limit { amount } } } }', { i: input });
  const client = (app: TestApp, tenantId: string) => new OpenAI({ baseURL: `${app.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId }, maxRetries: 0 });
  const budgets = async (tenantId: string) =>
    (await gql<{ tenant: { budgets: { apiKeyId: string | null; spent: { amountMicros: string }; remaining: { amount: string } }[] } }>(
      b,
      'query($id: ID!) { tenant(id: $id) { budgets { apiKeyId spent { amountMicros } remaining { amount } } } }',
      { id: tenantId },
    )).tenant.budgets;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 5 } });
    hookServer = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        hooks.push(Buffer.concat(chunks).toString('utf8'));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
    database = await postgres!.create();
    const price = { inputPerMillion: '0', outputPerMillion: '1000.00', currency: 'GBP' };
    const options = {
      databaseUrl: database.databaseUrl,
      redisUrl,
      inference: {
        providers: [{ name: 'gpu', type: 'openai' as const, baseUrl: upstream.openaiBaseUrl }],
        models: [
          { name: 'pound-model', kind: 'chat' as const, deployments: [{ provider: 'gpu', model: 'upstream?tokens=1000', weight: 1 }], price },
          { name: 'slow-pound-model', kind: 'chat' as const, deployments: [{ provider: 'gpu', model: 'upstream?tokens=1000&first-token-delay-ms=300', weight: 1 }], price },
        ],
      },
      config: {
        limits: {
          keyPrefix: `test:budget:${randomId(8)}:`,
          quotaWebhookUrl: `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/alerts`,
          quotaWebhookSecret: 'budget-webhook-secret',
        },
      },
    };
    a = await startTestApp(options);
    b = await startTestApp(options);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await database?.dispose();
    await upstream?.close();
    await new Promise((resolve) => hookServer?.close(resolve));
  });

  it('stops at a hard limit with an overshoot of the requests in flight, alerting once per threshold over both instances', async () => {
    const tenantId = await createTenant();
    expect(await setBudget({ tenantId, monthlyLimit: '10.00', alertThresholds: [50, 80, 100], hardStop: true })).toEqual({ setBudget: { budget: { currency: 'GBP', limit: { amount: '10.000000' } } } });
    const alerts: { threshold: number; spent: string }[] = [];
    const ws = createClient({ url: `${b.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${testAdminKey}` }, retryAttempts: 0 });
    const stop = ws.subscribe<{ budgetAlert: { threshold: number; spent: { amount: string } } }>(
      { query: 'subscription($t: ID) { budgetAlert(tenantId: $t) { threshold spent { amount } } }', variables: { t: tenantId } },
      { next: (message) => alerts.push({ threshold: message.data!.budgetAlert.threshold, spent: message.data!.budgetAlert.spent.amount }), error: () => {}, complete: () => {} },
    );
    await new Promise((resolve) => setTimeout(resolve, 200));

    // Four pounds through A, one at a time, then 40 requests of 300 ms, one every 20 ms over both instances.
    for (let i = 0; i < 4; i++) await client(a, tenantId).chat.completions.create({ model: 'pound-model', messages });
    const clients = [client(a, tenantId), client(b, tenantId)];
    const results = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        await new Promise((resolve) => setTimeout(resolve, i * 20));
        return clients[i % 2]!.chat.completions.create({ model: 'slow-pound-model', messages }).then(
          () => ({ ok: true as const }),
          (error: unknown) => ({ ok: false as const, status: (error as InstanceType<typeof OpenAI.APIError>).status, error: (error as InstanceType<typeof OpenAI.APIError>).error }),
        );
      }),
    );
    const refused = results.filter((r) => !r.ok);
    expect(refused.map((r) => r.status)).toEqual(refused.map(() => 402));
    // However many the burst had in flight, the budget is spent now: both instances refuse.
    const after = await Promise.all(
      [a, b].map((app) => client(app, tenantId).chat.completions.create({ model: 'pound-model', messages }).catch((error: unknown) => error as InstanceType<typeof OpenAI.APIError>)),
    );
    for (const answer of after) expect(answer).toMatchObject({ status: 402 });
    expect((after[0] as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({
      type: 'insufficient_quota',
      code: 'budget_exceeded',
      budget: { scope: 'tenant', api_key_id: null, currency: 'GBP', limit: '10.00', resets_at: expect.any(String) },
    });

    // When was the budget spent? When the successes that used up what was left had settled, as the
    // servers saw them: each usage event has its start and latency, on the same clock for both.
    await Promise.all([a.app.deps.usageMeter.flush(), b.app.deps.usageMeter.flush()]);
    const events = await a.app.deps.usageStore.events({ tenantId, range: null, filter: { models: ['slow-pound-model'] }, limit: 100, after: null });
    expect(events).toHaveLength(40);
    const served = events.filter((e) => e.status === 'ok');
    const turnedAway = events.filter((e) => e.status === 'refused');
    expect([served.length, turnedAway.length]).toEqual([results.length - refused.length, refused.length]);
    expect(turnedAway.every((e) => e.errorCode === 'BUDGET_EXCEEDED')).toBe(true);
    const reachedAt = served.map((e) => e.ts.getTime() + e.latencyMs).sort((x, y) => x - y)[6 - 1]!;
    // A request's cost is counted once its reply is written (then one Redis round trip), and it is in
    // flight until then: on a shared machine running the whole suite that took over 100 ms.
    const slackMs = 250;
    // Everything served was admitted before the budget was spent: it was in flight then.
    expect(served.every((e) => e.ts.getTime() <= reachedAt + slackMs)).toBe(true);
    expect(turnedAway.every((e) => e.ts.getTime() + e.latencyMs >= reachedAt - slackMs)).toBe(true);
    // The counter is exact: every success counted once, the refusals nothing.
    const [budget] = await budgets(tenantId);
    expect(Number(budget!.spent.amountMicros)).toBe((4 + served.length) * pricePerRequestMicros);
    expect(budget!.remaining.amount).toBe('0.000000');

    const deadline = Date.now() + 5_000;
    while (alerts.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    // Each threshold once; two crossed on different instances at nearly the same time may arrive either way round.
    expect([...alerts].sort((x, y) => x.threshold - y.threshold)).toEqual([
      { threshold: 50, spent: '5.000000' },
      { threshold: 80, spent: '8.000000' },
      { threshold: 100, spent: '10.000000' },
    ]);
    stop();
    await ws.dispose();
    while (hooks.filter((body) => body.includes(tenantId)).length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const delivered = hooks.filter((body) => body.includes(tenantId)).map((body) => JSON.parse(body) as { type: string; data: { threshold: number; limit: string } });
    expect(delivered.map((d) => [d.type, d.data.threshold, d.data.limit]).sort()).toEqual([
      ['budget.threshold_reached', 100, '10.00'],
      ['budget.threshold_reached', 50, '10.00'],
      ['budget.threshold_reached', 80, '10.00'],
    ]);
    expect(alerts).toHaveLength(3);
  });

  it("holds an API key to its own budget while the tenant's other keys are served; alerts without a hard stop do not refuse", async () => {
    const tenantId = await createTenant();
    const capped = await createKey(tenantId);
    const free = await createKey(tenantId);
    await setBudget({ tenantId, apiKeyId: capped.apiKey.id, monthlyLimit: '2.00', hardStop: true });
    await setBudget({ tenantId, monthlyLimit: '3.00', alertThresholds: [100] });
    const as = (app: TestApp, secret: string) => new OpenAI({ baseURL: `${app.url}/v1`, apiKey: secret, maxRetries: 0 });
    // Through one instance: a settlement still on its way from the other would be a request in flight.
    await as(a, capped.secret).chat.completions.create({ model: 'pound-model', messages });
    await as(a, capped.secret).chat.completions.create({ model: 'pound-model', messages });
    const refused = await as(a, capped.secret).chat.completions.create({ model: 'pound-model', messages }).catch((error: unknown) => error as InstanceType<typeof OpenAI.APIError>);
    expect(refused).toMatchObject({ status: 402, error: { code: 'budget_exceeded', budget: { scope: 'api_key', api_key_id: capped.apiKey.id, limit: '2.00', spent: '2.00' } } });
    await expect(as(b, capped.secret).chat.completions.create({ model: 'pound-model', messages })).rejects.toMatchObject({ status: 402 });
    expect(await (await fetch(`${b.url}/metrics`)).text()).toMatch(/tollgate_refusals_total\{surface="v1",reason="budget_exceeded"\} [1-9]/);
    // The tenant's budget (3.00) is alerts only: its other key is served past it.
    for (let i = 0; i < 3; i++) await as(i % 2 ? a : b, free.secret).chat.completions.create({ model: 'pound-model', messages });
    const spent = Object.fromEntries((await budgets(tenantId)).map((row) => [row.apiKeyId ?? 'tenant', Number(row.spent.amountMicros)]));
    expect(spent).toEqual({ tenant: 5 * pricePerRequestMicros, [capped.apiKey.id]: 2 * pricePerRequestMicros });
    // The GraphQL surface refuses the same way.
    const graphql = await graphqlRequest(a.url, 'mutation { createChatCompletion(input: { model: "pound-model", messages: [{ role: "user", content: "hi" }] }) { content } }', {}, bearer(capped.secret));
    expect(graphql.errors?.[0]?.extensions).toMatchObject({ code: 'BUDGET_EXCEEDED', budget: { scope: 'api_key' } });
  });

  it('refuses a bad budget by field, and another tenant\'s key as NOT_FOUND', async () => {
    const tenantId = await createTenant();
    const other = await createTenant();
    const key = await createKey(other);
    const errorOf = async (input: Record<string, unknown>) => (await graphqlRequest(a.url, 'mutation($i: SetBudgetInput!) { setBudget(input: $i) { budget { tenantId } } }', { i: input }, asAdmin())).errors?.[0]?.extensions;
    expect(await errorOf({ tenantId, monthlyLimit: '0' })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'monthlyLimit' });
    expect(await errorOf({ tenantId, monthlyLimit: '1.001' })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'monthlyLimit' });
    expect(await errorOf({ tenantId, monthlyLimit: '5', alertThresholds: [0, 50] })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'alertThresholds' });
    expect(await errorOf({ tenantId, monthlyLimit: '5', apiKeyId: key.apiKey.id })).toMatchObject({ code: 'NOT_FOUND' });
  });
});
