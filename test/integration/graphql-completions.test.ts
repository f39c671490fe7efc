import { createClient, type Client } from 'graphql-ws';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { adminClient, asAdmin, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { fakeTokens, startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';
import { createTollgateClient } from '../../client/src/client.ts';
import { CreateTenantDocument, TenantUsageEventsDocument } from '../../client/src/generated/graphql.ts';

const input = { model: 'chat-model', messages: [{ role: 'user', content: 'Stream me a story' }] };
const expectedText = fakeTokens('Stream me a story', 8).join('');
const subscription = 'subscription($input: ChatCompletionInput!) { chatCompletion(input: $input) { delta finishReason usage { promptTokens completionTokens totalTokens } } }';

interface Chunk {
  delta: string;
  finishReason: string | null;
  usage: { promptTokens: number; completionTokens: number; totalTokens: number } | null;
}

describe('GraphQL completions over HTTP, SSE and graphql-ws', () => {
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let tenantId: string;
  let ws: Client;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 8 } });
    gateway = await startTestApp({
      inference: {
        providers: [{ name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl }],
        models: [{ name: 'chat-model', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'upstream-chat', weight: 1 }] }],
      },
    });
    tenantId = (await adminClient(gateway.url).execute(CreateTenantDocument, { input: { name: 'Chat UI' } })).createTenant.tenant.id;
    ws = createClient({
      url: `${gateway.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${testAdminKey}`, 'x-tenant-id': tenantId },
      retryAttempts: 0,
    });
  });
  afterAll(async () => {
    await ws?.dispose();
    await gateway?.stop();
    await upstream?.close();
  });

  it('answers createChatCompletion with the same text and tokens as /v1, and meters both alike', async () => {
    const result = await graphqlRequest<{ createChatCompletion: { content: string; finishReason: string; usage: Chunk['usage'] } }>(
      gateway.url,
      'mutation($input: ChatCompletionInput!) { createChatCompletion(input: $input) { id model content finishReason usage { promptTokens completionTokens totalTokens } } }',
      { input },
      { ...asAdmin(tenantId), 'x-request-id': 'same-graphql' },
    );
    expect(result.errors).toBeUndefined();
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId }, maxRetries: 0 });
    const rest = await openai.chat.completions.create(
      { model: 'chat-model', messages: [{ role: 'user', content: 'Stream me a story' }] },
      { headers: { 'x-request-id': 'same-rest' } },
    );
    expect(result.data?.createChatCompletion.content).toBe(expectedText);
    expect(rest.choices[0]?.message.content).toBe(expectedText);
    expect(result.data?.createChatCompletion.usage).toEqual({
      promptTokens: rest.usage?.prompt_tokens,
      completionTokens: rest.usage?.completion_tokens,
      totalTokens: rest.usage?.total_tokens,
    });

    await gateway.app.deps.usageMeter.flush();
    const client = createTollgateClient({ url: gateway.url, apiKey: testAdminKey });
    const { tenant } = await client.execute(TenantUsageEventsDocument, { tenantId, first: 50 });
    const events = tenant!.usageEvents.edges.map((edge) => edge.node);
    const byRequest = (id: string) => events.filter((event) => event.requestId === id);
    expect(byRequest('same-graphql')).toHaveLength(1);
    expect(byRequest('same-rest')).toHaveLength(1);
    const pick = ({ requestedModel, servedModel, provider, kind, promptTokens, completionTokens, totalTokens, tokensEstimated, status, cacheHit, cost }: (typeof events)[number]) =>
      ({ requestedModel, servedModel, provider, kind, promptTokens, completionTokens, totalTokens, tokensEstimated, status, cacheHit, cost });
    expect(pick(byRequest('same-graphql')[0]!)).toEqual(pick(byRequest('same-rest')[0]!));
    expect(byRequest('same-rest')[0]).toMatchObject({ promptTokens: rest.usage?.prompt_tokens, completionTokens: rest.usage?.completion_tokens, status: 'OK' });
  });

  it('streams chunks over graphql-ws, the last with finishReason and usage', async () => {
    const chunks: Chunk[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.subscribe<{ chatCompletion: Chunk }>(
        { query: subscription, variables: { input } },
        { next: (value) => chunks.push(value.data!.chatCompletion), error: reject, complete: resolve },
      );
    });
    expect(chunks.map((c) => c.delta).join('')).toBe(expectedText);
    const last = chunks.at(-1)!;
    expect(last.finishReason).toBe('stop');
    expect(last.usage?.completionTokens).toBe(8);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it('streams over SSE with the Authorization header', async () => {
    const response = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...asAdmin(tenantId) },
      body: JSON.stringify({ query: subscription, variables: { input } }),
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const text = await response.text();
    const chunks = text
      .split('\n')
      .filter((line) => line.startsWith('data:') && line.length > 6)
      .map((line) => JSON.parse(line.slice(5)) as { data?: { chatCompletion: Chunk } })
      .flatMap((payload) => (payload.data ? [payload.data.chatCompletion] : []));
    expect(chunks.map((c) => c.delta).join('')).toBe(expectedText);
    expect(chunks.at(-1)?.usage?.completionTokens).toBe(8);
  });

  it('ends a subscription whose upstream breaks mid-stream with a named error, no internals', async () => {
    upstream.setBehaviour({ cutAfter: 3 });
    try {
      const received: Chunk[] = [];
      const ending = await new Promise<unknown>((resolve) => {
        ws.subscribe<{ chatCompletion: Chunk }>(
          { query: subscription, variables: { input } },
          { next: (value) => received.push(value.data!.chatCompletion), error: resolve, complete: () => resolve('complete') },
        );
      });
      expect(received.map((chunk) => chunk.delta).join('')).toBe(fakeTokens('Stream me a story', 8).slice(0, 3).join(''));
      expect(ending).toEqual([
        {
          message: 'the stream for model "chat-model" broke off after 3 chunks',
          extensions: expect.objectContaining({ code: 'UPSTREAM_ERROR', partial: true, chunks: 3 }) as unknown,
        },
      ]);
    } finally {
      upstream.reset();
    }
  });

  it('aborts the upstream when the subscriber completes early', async () => {
    // Long enough that the upstream never ends it by itself: seeing the abort proves it was passed on.
    upstream.setBehaviour({ tokens: 100_000, tokenDelayMs: 10 });
    try {
      const aborted = upstream.nextAbort();
      const dispose = await new Promise<() => void>((resolve, reject) => {
        const stop = ws.subscribe<{ chatCompletion: Chunk }>(
          { query: subscription, variables: { input } },
          { next: () => resolve(stop), error: reject, complete: () => {} },
        );
      });
      dispose();
      await aborted;
    } finally {
      upstream.reset();
    }
  });

  it('refuses bad input and unknown models with named errors', async () => {
    const badRole = await graphqlRequest(gateway.url, 'mutation($input: ChatCompletionInput!) { createChatCompletion(input: $input) { id } }', { input: { ...input, messages: [{ role: 'wizard', content: 'x' }] } }, asAdmin(tenantId));
    expect(badRole.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(badRole.errors?.[0]?.message).toContain('wizard');
    const unknown = await graphqlRequest(gateway.url, 'mutation($input: ChatCompletionInput!) { createChatCompletion(input: $input) { id } }', { input: { ...input, model: 'nope' } }, asAdmin(tenantId));
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const noTenant = await graphqlRequest(gateway.url, 'mutation($input: ChatCompletionInput!) { createChatCompletion(input: $input) { id } }', { input }, asAdmin());
    expect(noTenant.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('refuses a subscription whose prompt no store could hold before it reaches the upstream', async () => {
    const sent = upstream.requests.length;
    const poisoned = { ...input, messages: [{ role: 'user', content: 'Stream \u0000 me a story' }] };
    // A refused subscription answers with one result that carries the error and no data, then completes.
    const results = await new Promise<{ data?: unknown; errors?: readonly { message: string; extensions?: Record<string, unknown> }[] }[]>((resolve, reject) => {
      const seen: { data?: unknown; errors?: readonly { message: string; extensions?: Record<string, unknown> }[] }[] = [];
      ws.subscribe({ query: subscription, variables: { input: poisoned } }, { next: (result) => seen.push(result), error: reject, complete: () => resolve(seen) });
    });
    expect(results).toHaveLength(1);
    expect(results[0]?.data ?? null).toBeNull();
    expect(results[0]?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(results[0]?.errors?.[0]?.message).toContain('input.messages[0].content');
    expect(upstream.requests.length).toBe(sent);
  });

  it('lets a stream in flight finish when the gateway is told to stop', async () => {
    const draining = await startTestApp({
      inference: {
        providers: [{ name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl }],
        models: [{ name: 'chat-model', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'upstream-chat', weight: 1 }] }],
      },
    });
    upstream.setBehaviour({ tokens: 20, tokenDelayMs: 20 });
    try {
      const created = await graphqlRequest<{ createTenant: { tenant: { id: string } } }>(draining.url, 'mutation { createTenant(input: { name: "Drain" }) { tenant { id } } }', {}, asAdmin());
      const openai = new OpenAI({ baseURL: `${draining.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': created.data!.createTenant.tenant.id }, maxRetries: 0 });
      const stream = await openai.chat.completions.create({ model: 'chat-model', messages: [{ role: 'user', content: 'long one' }], stream: true });
      const stopping = draining.stop();
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      await stopping;
      expect(text).toBe(fakeTokens('long one', 20).join(''));
      await expect(fetch(`${draining.url}/healthz`)).rejects.toThrow();
    } finally {
      upstream.reset();
    }
  });
});
