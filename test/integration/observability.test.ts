import { createClient, type Client } from 'graphql-ws';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { asAdmin, bearer, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';
import { findLeaks } from '../testkit/secrets.ts';

/** One sample's value from Prometheus text, 0 when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) return Number(match[4]);
  }
  return 0;
}

describe('metrics, request logs and secrets in logs', () => {
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let client: OpenAI;
  let ws: Client;
  let tenantId: string;
  let apiKey: string;
  const providerKey = 'sk-provider-credential-0123456789';

  const scrape = async () => {
    const response = await fetch(`${gateway.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    return response.text();
  };

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 4 } });
    gateway = await startTestApp({
      inference: {
        providers: [{ name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl }],
        models: [
          { name: 'chat-model', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'upstream-chat', weight: 1 }] },
          { name: 'broken-model', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'upstream-chat?fail=503', weight: 1 }] },
        ],
      },
    });
    const created = await graphqlRequest<{ createTenant: { tenant: { id: string } } }>(gateway.url, 'mutation { createTenant(input: { name: "Observed", plan: "enterprise" }) { tenant { id } } }', {}, asAdmin());
    tenantId = created.data!.createTenant.tenant.id;
    const key = await graphqlRequest<{ createApiKey: { secret: string } }>(
      gateway.url,
      'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }',
      { input: { tenantId, name: 'metrics test' } },
      asAdmin(),
    );
    apiKey = key.data!.createApiKey.secret;
    gateway.secrets.add(apiKey);
    gateway.secrets.add(providerKey);
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey, maxRetries: 0 });
    ws = createClient({ url: `${gateway.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${apiKey}` }, retryAttempts: 0 });
  });
  afterAll(async () => {
    await ws?.dispose();
    await gateway?.stop();
    await upstream?.close();
  });

  const messages = [{ role: 'user' as const, content: 'count the metrics' }];

  it('labels every route of the table by its own path, and unknown /v1 paths as one', async () => {
    const before = await scrape();
    const headers = { authorization: `Bearer ${apiKey}` };
    const range = 'from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z';
    expect((await fetch(`${gateway.url}/v1/usage/export?${range}`, { headers })).status).toBe(200);
    expect((await fetch(`${gateway.url}/v1/models/chat-model`, { headers })).status).toBe(200);
    expect((await fetch(`${gateway.url}/v1/no-such-thing`, { headers })).status).toBe(404);
    const after = await scrape();
    const count = (route: string, status: string) =>
      sample(after, 'tollgate_http_requests_total', { surface: 'v1', route, status }) - sample(before, 'tollgate_http_requests_total', { surface: 'v1', route, status });
    expect([count('/v1/usage/export', '200'), count('/v1/models/:id', '200'), count('/v1/other', '404')]).toEqual([1, 1, 1]);
  });

  it('counts requests, tokens and timings as traffic flows, per surface and model', async () => {
    const before = await scrape();
    await client.chat.completions.create({ model: 'chat-model', messages });
    const stream = await client.chat.completions.create({ model: 'chat-model', messages, stream: true });
    for await (const _chunk of stream) void _chunk;
    const after = await scrape();

    const ok = { surface: 'v1', kind: 'chat', model: 'chat-model', status: 'ok' };
    expect(sample(after, 'tollgate_completion_requests_total', ok) - sample(before, 'tollgate_completion_requests_total', ok)).toBe(2);
    const route = { surface: 'v1', route: '/v1/chat/completions', status: '200' };
    expect(sample(after, 'tollgate_http_requests_total', route) - sample(before, 'tollgate_http_requests_total', route)).toBe(2);
    const completionTokens = { model: 'chat-model', provider: 'gpu-a', type: 'completion' };
    expect(sample(after, 'tollgate_tokens_total', completionTokens) - sample(before, 'tollgate_tokens_total', completionTokens)).toBe(8);
    expect(sample(after, 'tollgate_tokens_total', { model: 'chat-model', type: 'prompt' })).toBeGreaterThan(0);
    const overhead = { surface: 'v1', kind: 'chat' };
    expect(sample(after, 'tollgate_gateway_overhead_seconds_count', overhead) - sample(before, 'tollgate_gateway_overhead_seconds_count', overhead)).toBe(2);
    expect(sample(after, 'tollgate_upstream_duration_seconds_count', { deployment: 'gpu-a/upstream-chat' })).toBeGreaterThanOrEqual(2);
    expect(sample(after, 'tollgate_time_to_first_token_seconds_count', { model: 'chat-model', stream: 'true' })).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'tollgate_active_streams', { surface: 'v1' })).toBe(0);
    // Router, usage meter and Node's own metrics are there too.
    expect(sample(after, 'tollgate_deployment_breaker_state', { deployment: 'gpu-a/upstream-chat', state: 'closed' })).toBe(1);
    expect(after).toContain('tollgate_deployment_inflight{deployment="gpu-a/upstream-chat"');
    expect(after).toContain('tollgate_usage_queue_events');
    expect(after).toContain('tollgate_usage_store_lag_seconds');
    expect(sample(after, 'tollgate_usage_events_recorded_total')).toBeGreaterThanOrEqual(2);
    expect(after).toContain('process_cpu_seconds_total');
    expect(after).toContain('nodejs_eventloop_lag_seconds');
    // No tenant label unless the operator asks for one.
    expect(after).not.toContain(tenantId);
  });

  it('counts upstream errors by kind and failed completions', async () => {
    const before = await scrape();
    await expect(client.chat.completions.create({ model: 'broken-model', messages })).rejects.toBeInstanceOf(OpenAI.APIError);
    const after = await scrape();
    const server = { deployment: 'gpu-a/upstream-chat?fail=503', kind: 'server' };
    // One per attempt: the router retries a 503.
    expect(sample(after, 'tollgate_upstream_errors_total', server) - sample(before, 'tollgate_upstream_errors_total', server)).toBeGreaterThanOrEqual(1);
    const failed = { surface: 'v1', model: 'broken-model', status: 'error' };
    expect(sample(after, 'tollgate_completion_requests_total', failed) - sample(before, 'tollgate_completion_requests_total', failed)).toBe(1);
  });

  it('shows WebSocket connections and GraphQL streams while they are open', async () => {
    const before = await scrape();
    let during = '';
    await new Promise<void>((resolve, reject) => {
      let scraped = false;
      const stop = ws.subscribe(
        { query: 'subscription($input: ChatCompletionInput!) { chatCompletion(input: $input) { delta finishReason } }', variables: { input: { model: 'chat-model', messages } } },
        {
          next: () => {
            if (scraped) return;
            scraped = true;
            void scrape().then((text) => {
              during = text;
              stop();
              resolve();
            }, reject);
          },
          error: reject,
          complete: () => {
            if (!scraped) resolve();
          },
        },
      );
    });
    expect(sample(during, 'tollgate_websocket_connections')).toBe(1);
    const streams = { surface: 'graphql', kind: 'chat', model: 'chat-model' };
    await expect.poll(async () => sample(await scrape(), 'tollgate_active_streams', { surface: 'graphql' })).toBe(0);
    const after = await scrape();
    const total = (text: string) => ['ok', 'cancelled'].reduce((sum, status) => sum + sample(text, 'tollgate_completion_requests_total', { ...streams, status }), 0);
    expect(total(after) - total(before)).toBe(1);
  });

  it('writes one request log line per completion, naming who and what, and none with a secret', async () => {
    const completion = await client.chat.completions.create({ model: 'chat-model', messages }, { headers: { 'x-request-id': 'req-observed-1' } });
    expect(completion.usage?.completion_tokens).toBe(4);
    await expect.poll(() => gateway.logs.filter((line) => line.includes('"requestId":"req-observed-1"')).length).toBe(1);
    const line = JSON.parse(gateway.logs.find((l) => l.includes('"requestId":"req-observed-1"'))!) as Record<string, unknown>;
    expect(line).toMatchObject({
      msg: 'completion',
      level: 30,
      requestId: 'req-observed-1',
      surface: 'v1',
      tenantId,
      model: 'chat-model',
      servedModel: 'chat-model',
      deployment: 'gpu-a/upstream-chat',
      status: 'ok',
      promptTokens: completion.usage!.prompt_tokens,
      completionTokens: 4,
    });
    expect(typeof line.latencyMs).toBe('number');
    expect(typeof line.upstreamMs).toBe('number');
    // The prompt is never logged.
    expect(gateway.logs.join('\n')).not.toContain('count the metrics');

    // The main flows, then a scan of every line for every secret the test handled.
    await graphqlRequest(gateway.url, 'mutation($input: SetProviderCredentialInput!) { setProviderCredential(input: $input) { credential { last4 } } }', { input: { tenantId, provider: 'gpu-a', apiKey: providerKey } }, asAdmin());
    await client.chat.completions.create({ model: 'chat-model', messages });
    await graphqlRequest(gateway.url, 'mutation($input: ChatCompletionInput!) { createChatCompletion(input: $input) { id } }', { input: { model: 'chat-model', messages } }, bearer(apiKey));
    const wrongKey = `${apiKey.slice(0, -4)}zzzz`;
    gateway.secrets.add(wrongKey);
    await expect(new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: wrongKey, maxRetries: 0 }).models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    await graphqlRequest(gateway.url, '{ viewer { kind } }', {}, bearer(`${testAdminKey}-wrong`));
    expect(gateway.logs.some((l) => l.includes('"status":401'))).toBe(true);
    expect(findLeaks(gateway.logs, [apiKey, wrongKey, providerKey, testAdminKey])).toEqual([]);
  });

  it('reports each dependency, the usage backlog and the deployments in /readyz', async () => {
    const response = await fetch(`${gateway.url}/readyz`);
    const body = (await response.json()) as { status: string; checks: { name: string; ok: boolean }[]; usage: Record<string, unknown>; deployments: { total: number; available: number } };
    expect(response.status).toBe(200);
    expect(body.checks.map((c) => c.name)).toContain('pglite');
    expect(body.usage).toMatchObject({ queued: expect.any(Number), spooled: expect.any(Number), storeFailures: 0 });
    expect(body.deployments.total).toBe(2);
  });
});
