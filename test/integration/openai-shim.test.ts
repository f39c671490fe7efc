import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateApiKeyDocument, CreateTenantDocument } from '../../client/src/generated/graphql.ts';
import { adminClient, asAdmin, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { fakeTokens, startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';

describe('/v1 OpenAI-compatible shim through the official openai client', () => {
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let client: OpenAI;
  let tenantId: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 6 } });
    gateway = await startTestApp({
      inference: {
        providers: [
          { name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl },
          { name: 'local', type: 'ollama', baseUrl: upstream.url },
        ],
        models: [
          { name: 'chat-model', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'upstream-chat', weight: 1 }], price: { inputPerMillion: '3.00', outputPerMillion: '6.00', currency: 'USD' } },
          { name: 'ollama-model', kind: 'chat', deployments: [{ provider: 'local', model: 'llama3.2:3b', weight: 1 }] },
          { name: 'embed-model', kind: 'embedding', deployments: [{ provider: 'local', model: 'nomic-embed-text', weight: 1 }] },
        ],
      },
    });
    tenantId = (await adminClient(gateway.url).execute(CreateTenantDocument, { input: { name: 'Shim Co', plan: 'pro' } })).createTenant.tenant.id;
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId }, maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  const messages = [{ role: 'user' as const, content: 'Say hello to the gateway' }];

  it('answers a chat completion with the upstream text and usage', async () => {
    const completion = await client.chat.completions.create({ model: 'chat-model', messages });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('chat-model');
    expect(completion.choices[0]?.message.content).toBe(fakeTokens('Say hello to the gateway', 6).join(''));
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage?.completion_tokens).toBe(6);
    expect(completion.usage?.total_tokens).toBe(completion.usage!.prompt_tokens + 6);
  });

  it('streams chunks, then the usage chunk, then [DONE]', async () => {
    const stream = await client.chat.completions.create({ model: 'chat-model', messages, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish ??= chunk.choices[0]?.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(fakeTokens('Say hello to the gateway', 6).join(''));
    expect(finish).toBe('stop');
    expect(usage?.completion_tokens).toBe(6);
  });

  it('streams from an Ollama backend too', async () => {
    const stream = await client.chat.completions.create({ model: 'ollama-model', messages, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(fakeTokens('Say hello to the gateway', 6).join(''));
  });

  it('serves text completions and embeddings', async () => {
    const completion = await client.completions.create({ model: 'chat-model', prompt: 'Once upon a time' });
    expect(completion.choices[0]?.text.length).toBeGreaterThan(0);
    const embedding = await client.embeddings.create({ model: 'embed-model', input: ['alpha', 'beta'] });
    expect(embedding.data).toHaveLength(2);
    expect(embedding.data[0]?.embedding.length).toBeGreaterThan(0);
    expect(embedding.data[0]?.embedding.every((v) => Number.isFinite(v))).toBe(true);
  });

  it('lists the models', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id).sort()).toEqual(['chat-model', 'embed-model', 'ollama-model']);
  });

  it('maps errors to the SDK error classes', async () => {
    await expect(client.chat.completions.create({ model: 'no-such-model', messages })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const anonymous = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'wrong-key', maxRetries: 0 });
    await expect(anonymous.chat.completions.create({ model: 'chat-model', messages })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    upstream.setBehaviour({ fail: 503 });
    try {
      const error = await client.chat.completions.create({ model: 'chat-model', messages }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect((error as InstanceType<typeof OpenAI.APIError>).status).toBeGreaterThanOrEqual(502);
    } finally {
      upstream.reset();
    }
  });

  it('refuses bad input with a 400 naming the field, and oversized bodies with 413', async () => {
    const bad = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...asAdmin(tenantId) },
      body: JSON.stringify({ model: 'chat-model', messages: [{ role: 'user', content: 'x' }], temperature: 'hot' }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('temperature');
    const malformed = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...asAdmin(tenantId) }, body: '{"model":' });
    expect(malformed.status).toBe(400);
    const huge = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...asAdmin(tenantId) },
      body: JSON.stringify({ model: 'chat-model', messages: [{ role: 'user', content: 'x'.repeat(1_100_000) }] }),
    });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
  });

  it('ends a stream cut by the upstream with an explicit error, not a clean end', async () => {
    upstream.setBehaviour({ cutAfter: 2, tokens: 6 });
    try {
      const stream = await client.chat.completions.create({ model: 'chat-model', messages, stream: true });
      const received: string[] = [];
      const failure = await (async () => {
        for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? '');
      })().catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(OpenAI.APIError);
      expect(received.join('').length).toBeGreaterThan(0);
    } finally {
      upstream.reset();
    }
  });

  it('aborts the upstream when the client goes away mid-stream', async () => {
    // Long enough that the upstream never ends it by itself: seeing the abort proves it was passed on.
    upstream.setBehaviour({ tokens: 100_000, tokenDelayMs: 20 });
    try {
      const aborted = upstream.nextAbort();
      const controller = new AbortController();
      const stream = await client.chat.completions.create({ model: 'chat-model', messages, stream: true }, { signal: controller.signal });
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) break;
      }
      controller.abort();
      await aborted;
    } finally {
      upstream.reset();
    }
  });

  it('takes a client that leaves before the answer as a cancelled request, not an error', async () => {
    upstream.setBehaviour({ firstTokenDelayMs: 300 });
    try {
      const aborted = upstream.nextAbort();
      const controller = new AbortController();
      const request = client.chat.completions.create({ model: 'chat-model', messages }, { signal: controller.signal }).catch((e: unknown) => e);
      setTimeout(() => controller.abort(), 100);
      expect(await request).toBeInstanceOf(OpenAI.APIUserAbortError);
      await aborted;
      await new Promise((resolve) => setTimeout(resolve, 50));
      const lines = gateway.logs.map((line) => JSON.parse(line) as { level: number; msg: string; status?: string });
      expect(lines.filter((line) => line.level >= 50)).toEqual([]);
      expect(lines.filter((line) => line.msg === 'completion').at(-1)).toMatchObject({ status: 'cancelled' });
    } finally {
      upstream.reset();
    }
  });

  it('serves completions to an inference-only key but not the usage it lacks the scope for', async () => {
    const { createApiKey } = await adminClient(gateway.url).execute(CreateApiKeyDocument, { input: { tenantId, name: 'inference only', scopes: ['INFERENCE'] } });
    const keyClient = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: createApiKey.secret, maxRetries: 0 });
    const completion = await keyClient.chat.completions.create({ model: 'chat-model', messages });
    expect(completion.choices[0]?.message.content).toBe(fakeTokens('Say hello to the gateway', 6).join(''));
    const usage = await fetch(`${gateway.url}/v1/usage`, { headers: { authorization: `Bearer ${createApiKey.secret}` } });
    expect(usage.status).toBe(403);
    expect(((await usage.json()) as { error: { message: string } }).error.message).toContain('usage:read');
  });

  it('publishes an OpenAPI 3.1 document generated from the request schemas', async () => {
    const doc = (await (await fetch(`${gateway.url}/v1/openapi.json`)).json()) as { openapi: string; components: { schemas: Record<string, { properties?: Record<string, unknown> }> } };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.components.schemas.ChatCompletionRequest?.properties ?? {})).toEqual(expect.arrayContaining(['model', 'messages', 'stream', 'temperature']));
  });
});

describe('exact-match response cache', () => {
  let upstream: FakeUpstream;
  let gateway: TestApp;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 4 } });
    gateway = await startTestApp({
      inference: {
        providers: [{ name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl }],
        models: [{ name: 'chat-model', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'upstream-chat', weight: 1 }] }],
      },
    });
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  async function tenantClient(name: string) {
    const id = (await adminClient(gateway.url).execute(CreateTenantDocument, { input: { name, plan: 'enterprise' } })).createTenant.tenant.id;
    return new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': id, 'x-tollgate-cache': 'on' }, maxRetries: 0 });
  }

  it('serves an identical temperature-0 request from the cache, inside the tenant only', async () => {
    const a = await tenantClient('Cache A');
    const b = await tenantClient('Cache B');
    const request = { model: 'chat-model', temperature: 0, messages: [{ role: 'user' as const, content: 'cache me' }] };
    const first = await a.chat.completions.create(request);
    const upstreamCalls = upstream.requests.length;
    const second = await a.chat.completions.create(request);
    expect(upstream.requests.length).toBe(upstreamCalls);
    expect(second.choices[0]?.message.content).toBe(first.choices[0]?.message.content);
    expect(second.usage).toEqual(first.usage);
    for (let i = 0; i < 5; i += 1) await a.chat.completions.create(request);
    expect(upstream.requests.length).toBe(upstreamCalls);

    await b.chat.completions.create(request);
    expect(upstream.requests.length).toBe(upstreamCalls + 1);

    await a.chat.completions.create({ ...request, temperature: 0.7 });
    expect(upstream.requests.length).toBe(upstreamCalls + 2);
  });
});
