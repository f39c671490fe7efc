import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient, type Client } from 'graphql-ws';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { asAdmin, bearer, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';

// Rate limits, quotas and billing through the real app: the official openai client for /v1 (429s,
// headers), GraphQL for overrides, quota and invoices, graphql-ws for quotaUpdated, a local endpoint
// for the platform's webhook. The embedded (in-memory) limiter store; cross-instance.test.ts covers Redis.

const webhookSecret = 'platform-webhook-secret-0123456789';

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
}

async function startWebhookReceiver(): Promise<{ url: string; deliveries: Delivery[]; close(): Promise<void> }> {
  const deliveries: Delivery[] = [];
  let calls = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      calls += 1;
      deliveries.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      // The platform is down for the first delivery: it must be retried.
      res.writeHead(calls === 1 ? 503 : 204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/quota`, deliveries, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const waitFor = async (condition: () => boolean, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('rate limits, quotas and billing', () => {
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let webhook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let ws: Client;

  const gql = async <T,>(query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = asAdmin()) => {
    const result = await graphqlRequest<T>(gateway.url, query, variables, headers);
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    return result.data as T;
  };
  const createTenant = async (plan: string, name = `T-${plan}`) =>
    (await gql<{ createTenant: { tenant: { id: string } } }>('mutation($name: String!, $plan: String) { createTenant(input: { name: $name, plan: $plan }) { tenant { id } } }', { name, plan }))
      .createTenant.tenant.id;
  const setLimits = (tenantId: string, limits: Record<string, number | null>) =>
    gql('mutation($t: ID!, $l: RateLimitsInput!) { setTenantLimits(tenantId: $t, limits: $l) { tenant { id } } }', { t: tenantId, l: limits });
  const client = (tenantId: string, headers: Record<string, string> = {}) =>
    new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId, ...headers }, maxRetries: 0 });
  const quota = async (tenantId: string) =>
    (
      await gql<{ tenant: { quota: { period: string; limit: number; used: number; remaining: number; overage: number; state: string; requests: number } } }>(
        'query($id: ID!) { tenant(id: $id) { quota { period limit used remaining overage state requests } } }',
        { id: tenantId },
      )
    ).tenant.quota;
  const messages = [{ role: 'user' as const, content: 'Count the tokens of this request' }];
  const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as InstanceType<typeof OpenAI.APIError>);

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 5 } });
    webhook = await startWebhookReceiver();
    gateway = await startTestApp({
      inference: {
        providers: [{ name: 'gpu', type: 'openai', baseUrl: upstream.openaiBaseUrl }],
        models: [
          { name: 'chat-model', kind: 'chat', contextWindow: 8_192, deployments: [{ provider: 'gpu', model: 'upstream', weight: 1 }], price: { inputPerMillion: '3.00', outputPerMillion: '6.00', currency: 'USD' } },
          { name: 'big-model', kind: 'chat', deployments: [{ provider: 'gpu', model: 'upstream?tokens=30000', weight: 1 }] },
          { name: 'slow-model', kind: 'chat', deployments: [{ provider: 'gpu', model: 'upstream?first-token-delay-ms=400', weight: 1 }] },
          { name: 'broken-model', kind: 'chat', deployments: [{ provider: 'gpu', model: 'upstream?fail=400', weight: 1 }] },
          { name: 'cut-model', kind: 'chat', deployments: [{ provider: 'gpu', model: 'upstream?tokens=10&cut-after=3', weight: 1 }] },
        ],
      },
      config: { limits: { quotaWebhookUrl: webhook.url, quotaWebhookSecret: webhookSecret } },
    });
    ws = createClient({
      url: `${gateway.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${testAdminKey}` },
      retryAttempts: 0,
    });
  });
  afterAll(async () => {
    await ws?.dispose();
    await gateway?.stop();
    await upstream?.close();
    await webhook?.close();
  });

  it("reports the plan's limits in x-ratelimit-* headers, counting down", async () => {
    const tenantId = await createTenant('pro');
    const openai = client(tenantId);
    const first = await openai.chat.completions.create({ model: 'chat-model', messages, max_tokens: 100 }).withResponse();
    expect(first.response.headers.get('x-ratelimit-limit-requests')).toBe('120');
    expect(first.response.headers.get('x-ratelimit-remaining-requests')).toBe('119');
    expect(first.response.headers.get('x-ratelimit-reset-requests')).toBe('1m0s');
    expect(first.response.headers.get('x-ratelimit-limit-tokens')).toBe('200000');
    const reserved = 200_000 - Number(first.response.headers.get('x-ratelimit-remaining-tokens'));
    // The reservation is the prompt (estimated from its size) plus max_tokens.
    expect(reserved).toBeGreaterThan(100);
    expect(reserved).toBeLessThan(130);
    const second = await openai.chat.completions.create({ model: 'chat-model', messages, max_tokens: 100 }).withResponse();
    expect(second.response.headers.get('x-ratelimit-remaining-requests')).toBe('118');
    // The first request settled to its actual count (5 completion tokens, not 100).
    const actual = first.data.usage!.total_tokens;
    expect(Number(second.response.headers.get('x-ratelimit-remaining-tokens'))).toBe(200_000 - actual - reserved);
  });

  it('refuses past requests per minute with 429, Retry-After and an OpenAI-shaped body; GraphQL says RATE_LIMITED', async () => {
    const tenantId = await createTenant('pro');
    await setLimits(tenantId, { requestsPerMinute: 2 });
    const openai = client(tenantId);
    await openai.chat.completions.create({ model: 'chat-model', messages });
    await openai.chat.completions.create({ model: 'chat-model', messages });
    const error = await failure(openai.chat.completions.create({ model: 'chat-model', messages }));
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error!.status).toBe(429);
    const retryAfter = Number(error!.headers?.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(error!.headers?.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(error!.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limited', param: null });
    expect(error!.message).toMatch(/requests per minute/);

    const graphql = await graphqlRequest(gateway.url, 'mutation { createChatCompletion(input: { model: "chat-model", messages: [{ role: "user", content: "hi" }] }) { content } }', {}, asAdmin(tenantId));
    expect(graphql.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'requests_per_minute' });
    expect(graphql.errors?.[0]?.extensions?.retryAfter).toBeGreaterThanOrEqual(1);
  });

  it('validates the model before admission: a tenant at its limit asking for an unknown model gets 404, and a refusal spends nothing', async () => {
    const tenantId = await createTenant('pro');
    await setLimits(tenantId, { requestsPerMinute: 1 });
    const openai = client(tenantId);
    const unknown = await failure(openai.chat.completions.create({ model: 'no-such-model', messages }));
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    const streamed = await failure(openai.chat.completions.create({ model: 'no-such-model', messages, stream: true }));
    expect(streamed).toBeInstanceOf(OpenAI.NotFoundError);
    const wrongKind = await failure(openai.embeddings.create({ model: 'chat-model', input: 'x' }));
    expect(wrongKind!.status).toBe(400);
    // None of those took the one request of the minute.
    const served = await openai.chat.completions.create({ model: 'chat-model', messages }).withResponse();
    expect(served.response.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    const stillUnknown = await failure(openai.chat.completions.create({ model: 'no-such-model', messages }));
    expect(stillUnknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect(stillUnknown!.error).toMatchObject({ code: 'not_found' });
    const graphql = await graphqlRequest(gateway.url, 'mutation { createChatCompletion(input: { model: "no-such-model", messages: [{ role: "user", content: "hi" }] }) { content } }', {}, asAdmin(tenantId));
    expect(graphql.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(await failure(openai.chat.completions.create({ model: 'chat-model', messages }))).toBeInstanceOf(OpenAI.RateLimitError);
  });

  it('reserves prompt plus max_tokens against tokens per minute, and refuses a request larger than the whole minute', async () => {
    const tenantId = await createTenant('pro');
    await setLimits(tenantId, { tokensPerMinute: 1_000 });
    const openai = client(tenantId);
    const tooLarge = await failure(openai.chat.completions.create({ model: 'chat-model', messages, max_tokens: 2_000 }));
    expect(tooLarge).toBeInstanceOf(OpenAI.RateLimitError);
    expect(tooLarge!.message).toMatch(/too large/i);
    await openai.chat.completions.create({ model: 'chat-model', messages, max_tokens: 900 });
    // 900 reserved would not fit twice, but the first settled to what it used.
    await openai.chat.completions.create({ model: 'chat-model', messages, max_tokens: 900 });
  });

  it('holds a concurrency slot while a stream runs and frees it when it ends, fails, or the client goes away', async () => {
    const tenantId = await createTenant('pro');
    await setLimits(tenantId, { concurrentRequests: 1 });
    const openai = client(tenantId);
    const running = openai.chat.completions.create({ model: 'slow-model', messages });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const refused = await failure(openai.chat.completions.create({ model: 'chat-model', messages }));
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect(refused!.message).toMatch(/concurrent requests/);
    await running;
    await openai.chat.completions.create({ model: 'chat-model', messages });

    // An upstream failure releases the slot.
    expect(await failure(openai.chat.completions.create({ model: 'broken-model', messages }))).toBeInstanceOf(OpenAI.APIError);
    await openai.chat.completions.create({ model: 'chat-model', messages });

    // So does a client that goes away while its stream waits for the first token.
    const abort = new AbortController();
    const aborted = upstream.abortedRequests;
    const gone = failure(openai.chat.completions.create({ model: 'slow-model', messages, stream: true }, { signal: abort.signal }));
    await new Promise((resolve) => setTimeout(resolve, 150));
    abort.abort();
    expect(await gone).toBeInstanceOf(OpenAI.APIUserAbortError);
    await waitFor(() => upstream.abortedRequests > aborted);
    let admitted = false;
    for (let i = 0; i < 20 && !admitted; i++) {
      admitted = (await failure(openai.chat.completions.create({ model: 'chat-model', messages }))) === undefined;
      if (!admitted) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(admitted).toBe(true);
  });

  it("holds an API key to its own limits as well as its tenant's", async () => {
    const tenantId = await createTenant('pro');
    const created = await gql<{ createApiKey: { apiKey: { id: string }; secret: string } }>(
      'mutation($t: ID!) { createApiKey(input: { tenantId: $t, name: "ci" }) { apiKey { id } secret } }',
      { t: tenantId },
    );
    gateway.secrets.add(created.createApiKey.secret);
    const keyId = created.createApiKey.apiKey.id;
    const set = await gql<{ setApiKeyLimits: { limits: { requestsPerMinute: number } } }>(
      'mutation($k: ID!) { setApiKeyLimits(apiKeyId: $k, limits: { requestsPerMinute: 1 }) { limits { requestsPerMinute } } }',
      { k: keyId },
    );
    expect(set.setApiKeyLimits.limits.requestsPerMinute).toBe(1);
    const byKey = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: created.createApiKey.secret, maxRetries: 0 });
    const first = await byKey.chat.completions.create({ model: 'chat-model', messages }).withResponse();
    expect(first.response.headers.get('x-ratelimit-limit-requests')).toBe('1');
    const error = await failure(byKey.chat.completions.create({ model: 'chat-model', messages }));
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error!.message).toMatch(/this API key/);
    // The tenant's other callers are not held to the key's limit.
    await client(tenantId).chat.completions.create({ model: 'chat-model', messages });
    const limits = await gql<{ tenant: { apiKeyLimits: { apiKeyId: string }[] } }>('query($id: ID!) { tenant(id: $id) { apiKeyLimits { apiKeyId } } }', { id: tenantId });
    expect(limits.tenant.apiKeyLimits).toEqual([{ apiKeyId: keyId }]);
  });

  it('applies a plan change to the next request', async () => {
    const tenantId = await createTenant('free');
    const openai = client(tenantId);
    const before = await openai.chat.completions.create({ model: 'chat-model', messages }).withResponse();
    expect(before.response.headers.get('x-ratelimit-limit-requests')).toBe('10');
    await gql('mutation($t: ID!) { setTenantPlan(tenantId: $t, plan: "enterprise") { tenant { id } } }', { t: tenantId });
    const after = await openai.chat.completions.create({ model: 'chat-model', messages }).withResponse();
    expect(after.response.headers.get('x-ratelimit-limit-requests')).toBe('300');
  });

  it('refuses a free tenant past its monthly tokens with QUOTA_EXCEEDED, alerting at 80% and 100% once each', async () => {
    const tenantId = await createTenant('free');
    await setLimits(tenantId, { tokensPerMinute: 1_000_000, requestsPerMinute: 100 });
    const updates: { state: string; threshold: number; used: number }[] = [];
    const stop = ws.subscribe<{ quotaUpdated: { state: string; threshold: number; used: number } }>(
      { query: 'subscription($t: ID) { quotaUpdated(tenantId: $t) { state threshold used } }', variables: { t: tenantId } },
      { next: (message) => updates.push(message.data!.quotaUpdated), error: () => {}, complete: () => {} },
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const openai = client(tenantId);
    let perRequest = 0;
    for (let i = 0; i < 4; i++) perRequest = (await openai.chat.completions.create({ model: 'big-model', messages })).usage!.total_tokens;
    const refused = await failure(openai.chat.completions.create({ model: 'chat-model', messages }));
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect(refused!.status).toBe(429);
    expect(refused!.error).toMatchObject({ type: 'insufficient_quota', code: 'quota_exceeded' });
    expect(Number(refused!.headers?.get('retry-after'))).toBeGreaterThan(0);
    const graphql = await graphqlRequest(gateway.url, 'mutation { createChatCompletion(input: { model: "chat-model", messages: [{ role: "user", content: "hi" }] }) { content } }', {}, asAdmin(tenantId));
    expect(graphql.errors?.[0]?.extensions).toMatchObject({ code: 'QUOTA_EXCEEDED', limit: 'monthly_tokens' });

    expect(await quota(tenantId)).toMatchObject({ limit: 100_000, used: 4 * perRequest, remaining: 0, overage: 4 * perRequest - 100_000, state: 'EXCEEDED', requests: 4 });
    await waitFor(() => updates.length >= 2);
    expect(updates.map((u) => [u.threshold, u.state])).toEqual([
      [80, 'WARNING'],
      [100, 'EXCEEDED'],
    ]);
    stop();

    // The platform's webhook: one delivery per threshold, the first retried after a 503, each signed.
    await waitFor(() => webhook.deliveries.filter((d) => d.body.includes(tenantId)).length >= 3, 10_000);
    const mine = webhook.deliveries.filter((d) => d.body.includes(tenantId));
    const period = new Date().toISOString().slice(0, 7).replace('-', '');
    // Deliveries run side by side: the 80% one is retried while the 100% one goes through.
    expect(mine.map((d) => d.headers['tollgate-event-id']).sort()).toEqual([
      `quota_${tenantId}_${period}_100`,
      `quota_${tenantId}_${period}_80`,
      `quota_${tenantId}_${period}_80`,
    ]);
    expect(mine.map((d) => d.headers['tollgate-attempt'])).toContain('2');
    for (const delivery of mine) {
      const signature = String(delivery.headers['tollgate-signature']);
      const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature)!;
      expect(v1).toBe(createHmac('sha256', webhookSecret).update(`${t}.${delivery.body}`).digest('hex'));
      expect(JSON.parse(delivery.body)).toMatchObject({ type: 'quota.threshold_reached', data: { tenant_id: tenantId, limit: 100_000 } });
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(webhook.deliveries.filter((d) => d.body.includes(tenantId))).toHaveLength(3);
  });

  it('serves a soft-quota tenant past its tokens and bills the excess as overage', async () => {
    await gql('mutation($input: CreatePlanInput!) { createPlan(input: $input) { plan { id } } }', {
      input: { id: 'tiny-soft', name: 'Tiny soft', currency: 'GBP', monthlyPrice: '10.00', monthlyTokens: 50_000, requestsPerMinute: 100, tokensPerMinute: 1_000_000, hardQuota: false, overagePerMillion: '8.00', concurrentRequests: 10 },
    });
    const tenantId = await createTenant('tiny-soft');
    const openai = client(tenantId);
    let used = 0;
    for (let i = 0; i < 2; i++) used += (await openai.chat.completions.create({ model: 'big-model', messages })).usage!.total_tokens;
    await openai.chat.completions.create({ model: 'big-model', messages });
    const q = await quota(tenantId);
    expect(q.state).toBe('EXCEEDED');
    expect(q.overage).toBe(q.used - 50_000);
    expect(used).toBeGreaterThan(50_000);

    await gateway.app.deps.usageMeter.flush();
    const invoice = await gql<{ tenant: { invoicePreview: Record<string, unknown> & { lines: { model: string; totalTokens: number; costBasis: unknown }[] } } }>(
      'query($id: ID!) { tenant(id: $id) { invoicePreview { final currency baseFee { amount } includedTokens usedTokens overageTokens overageRatePerMillion { amount } overageCharge { amount amountMicros } total { amount } planPeriods { plan { id } days } lines { model requests totalTokens costBasis { amount currency } margin { amount } } } } }',
      { id: tenantId },
    );
    const preview = invoice.tenant.invoicePreview;
    const overageTokens = q.used - 50_000;
    expect(preview).toMatchObject({
      final: false,
      currency: 'GBP',
      baseFee: { amount: '10.000000' },
      includedTokens: 50_000,
      usedTokens: q.used,
      overageTokens,
      overageRatePerMillion: { amount: '8.000000' },
      overageCharge: { amountMicros: String(Math.round(overageTokens * 8)) },
    });
    expect((preview.planPeriods as { plan: { id: string } }[]).map((p) => p.plan.id)).toEqual(['tiny-soft']);
    expect(preview.lines).toEqual([{ model: 'big-model', requests: 3, totalTokens: q.used, costBasis: { amount: (q.used * 3 / 1e6).toFixed(6), currency: 'USD' }, margin: { amount: (-(q.used * 3) / 1e6).toFixed(6) } }]);
    // A tenant sees its invoice, not the platform's costs.
    const asTenant = await graphqlRequest<{ tenant: { invoicePreview: { lines: { costBasis: unknown }[] } } }>(
      gateway.url,
      'query($id: ID!) { tenant(id: $id) { invoicePreview { lines { costBasis { amount } } } } }',
      { id: tenantId },
      await tenantKey(tenantId),
    );
    expect(asTenant.data?.tenant.invoicePreview.lines[0]?.costBasis).toBeNull();
  });

  const tenantKey = async (tenantId: string) => {
    const created = await gql<{ createApiKey: { secret: string } }>('mutation($t: ID!) { createApiKey(input: { tenantId: $t, name: "reader" }) { secret } }', { t: tenantId });
    gateway.secrets.add(created.createApiKey.secret);
    return bearer(created.createApiKey.secret);
  };

  it('keeps the counters right through upstream failures, cut streams and client retries with the same X-Request-ID', async () => {
    const tenantId = await createTenant('pro');
    const openai = client(tenantId);
    const ok = await openai.chat.completions.create({ model: 'chat-model', messages });
    expect(await failure(openai.chat.completions.create({ model: 'broken-model', messages }))).toBeInstanceOf(OpenAI.APIError);
    const cut = await openai.chat.completions.create({ model: 'cut-model', messages, stream: true, stream_options: { include_usage: true } });
    await failure((async () => {
      for await (const _chunk of cut) void _chunk;
    })());
    await gateway.app.deps.usageMeter.flush();
    const range = { from: new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1)).toISOString(), to: new Date(Date.now() + 60_000).toISOString() };
    const report = await gql<{ tenant: { usage: { totals: { totalTokens: number; requests: number } } } }>(
      'query($id: ID!, $range: DateRangeInput!) { tenant(id: $id) { usage(range: $range) { totals { totalTokens requests } } } }',
      { id: tenantId, range },
    );
    const afterFailures = await quota(tenantId);
    expect(afterFailures.used).toBe(report.tenant.usage.totals.totalTokens);
    expect(afterFailures.used).toBeGreaterThan(ok.usage!.total_tokens);
    expect(afterFailures.requests).toBe(3);

    const retrying = client(tenantId, { 'x-request-id': 'client-retry-0001' });
    const once = await retrying.chat.completions.create({ model: 'chat-model', messages });
    await retrying.chat.completions.create({ model: 'chat-model', messages });
    const afterRetry = await quota(tenantId);
    expect(afterRetry.used).toBe(afterFailures.used + once.usage!.total_tokens);
    expect(afterRetry.requests).toBe(afterFailures.requests + 1);
    // One request id, one usage event: the usage store agrees with the quota.
    await gateway.app.deps.usageMeter.flush();
    const events = await gateway.app.deps.usageStore.events({ tenantId, range: null, filter: {}, limit: 100, after: null });
    expect(events.filter((event) => event.requestId === 'client-retry-0001')).toHaveLength(1);
    const afterRetryReport = await gql<{ tenant: { usage: { totals: { totalTokens: number; requests: number } } } }>(
      'query($id: ID!, $range: DateRangeInput!) { tenant(id: $id) { usage(range: $range) { totals { totalTokens requests } } } }',
      { id: tenantId, range },
    );
    expect(afterRetryReport.tenant.usage.totals).toEqual({ totalTokens: afterRetry.used, requests: afterRetry.requests });
  });

  it('answers GET /v1/usage with the period, usage, limits, remaining and reset time', async () => {
    const tenantId = await createTenant('starter');
    const openai = client(tenantId);
    const done = await openai.chat.completions.create({ model: 'chat-model', messages });
    const response = await fetch(`${gateway.url}/v1/usage`, { headers: asAdmin(tenantId) });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    const now = new Date();
    const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString();
    expect(body).toMatchObject({
      object: 'usage',
      tenant_id: tenantId,
      plan: { id: 'starter', hard_quota: false },
      period: { month: now.toISOString().slice(0, 7), end },
      usage: { requests: 1, tokens: done.usage!.total_tokens },
      limits: { monthly_tokens: 5_000_000, requests_per_minute: 60, tokens_per_minute: 100_000, concurrent_requests: 20 },
      remaining: { tokens: 5_000_000 - done.usage!.total_tokens, requests: null },
      state: 'OK',
      reset_at: end,
      rate_limits: { requests: { limit: 60, remaining: 59 } },
    });
    expect((await fetch(`${gateway.url}/v1/usage`)).status).toBe(401);
  });

  it('estimates the most a request can cost before it is sent', async () => {
    const estimate = await gql<{ estimateCost: { promptTokens: number; maxTokens: number; priced: boolean; cost: { amount: string; currency: string } } }>(
      'query($input: EstimateCostInput!) { estimateCost(input: $input) { promptTokens maxTokens priced cost { amount currency } } }',
      { input: { model: 'chat-model', promptTokens: 1_000, maxTokens: 500 } },
    );
    expect(estimate.estimateCost).toEqual({ promptTokens: 1_000, maxTokens: 500, priced: true, cost: { amount: '0.006000', currency: 'USD' } });
    const fromMessages = await gql<{ estimateCost: { promptTokens: number; maxTokens: number } }>(
      'query($input: EstimateCostInput!) { estimateCost(input: $input) { promptTokens maxTokens } }',
      { input: { model: 'chat-model', messages } },
    );
    expect(fromMessages.estimateCost.promptTokens).toBeGreaterThan(5);
    expect(fromMessages.estimateCost.maxTokens).toBe(8_192 - fromMessages.estimateCost.promptTokens);
  });
});
