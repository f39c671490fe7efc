import { createClient } from 'graphql-ws';
import OpenAI from 'openai';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { asAdmin, graphqlRequest, startTestApp, testAdminKey, type TestApp, type TestAppOptions } from '../testkit/app.ts';
import { fakeTokens, startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';
import { describeOnEachRedis } from '../testkit/redis-targets.ts';
import { sqlDialects, type TestSqlDatabase } from '../testkit/sql-databases.ts';

// The response cache's levels through the real surfaces: the official openai client on /v1 and a
// graphql-ws client. The fake upstream counts what reaches it, so a hit is proven by its silence.

const inference = (upstream: FakeUpstream): TestAppOptions['inference'] => ({
  providers: [{ name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl }],
  models: [{ name: 'chat-model', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'upstream-chat', weight: 1 }] }],
});

async function createTenant(app: TestApp, name: string): Promise<string> {
  const result = await graphqlRequest<{ createTenant: { tenant: { id: string } } }>(
    app.url,
    'mutation($name: String!) { createTenant(input: { name: $name, plan: "enterprise" }) { tenant { id } } }',
    { name },
    asAdmin(),
  );
  return result.data!.createTenant.tenant.id;
}

const openai = (app: TestApp, tenantId: string) =>
  new OpenAI({ baseURL: `${app.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId, 'x-tollgate-cache': 'on' }, maxRetries: 0 });

const chatUpstreamCalls = (upstream: FakeUpstream) => upstream.requests.filter((r) => r.path.endsWith('/chat/completions')).length;

async function cacheHits(app: TestApp, tenantId: string): Promise<boolean[]> {
  await app.app.deps.usageMeter.flush();
  const result = await graphqlRequest<{ tenant: { usageEvents: { edges: { node: { cacheHit: boolean } }[] } } }>(
    app.url,
    'query($id: ID!) { tenant(id: $id) { usageEvents(first: 50) { edges { node { cacheHit } } } } }',
    { id: tenantId },
    asAdmin(),
  );
  // Newest first in the connection; oldest first here, in the order the requests were sent.
  return result.data!.tenant.usageEvents.edges.map((edge) => edge.node.cacheHit).reverse();
}

async function readStream(stream: AsyncIterable<OpenAI.ChatCompletionChunk>): Promise<{ text: string; finish: string | null; usage: OpenAI.CompletionUsage | null }> {
  let text = '';
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | null = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? '';
    finish ??= chunk.choices[0]?.finish_reason ?? null;
    if (chunk.usage) usage = chunk.usage;
  }
  return { text, finish, usage };
}

describe('response cache on one instance', () => {
  let upstream: FakeUpstream;
  let gateway: TestApp;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 5 } });
    gateway = await startTestApp({ inference: inference(upstream) });
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  it('answers a repeat without the upstream, says hit or miss, and meters the hit as cached', async () => {
    const tenantId = await createTenant(gateway, 'Cache one-shot');
    const client = openai(gateway, tenantId);
    const request = { model: 'chat-model', temperature: 0, messages: [{ role: 'user' as const, content: 'one-shot repeat' }] };
    const before = chatUpstreamCalls(upstream);
    const first = await client.chat.completions.create(request).withResponse();
    const second = await client.chat.completions.create(request).withResponse();
    expect(chatUpstreamCalls(upstream)).toBe(before + 1);
    expect(first.response.headers.get('x-tollgate-cache')).toBe('miss');
    expect(second.response.headers.get('x-tollgate-cache')).toBe('hit');
    expect(second.data.choices[0]?.message.content).toBe(fakeTokens('one-shot repeat', 5).join(''));
    expect(second.data.usage).toEqual(first.data.usage);
    expect(second.data.id).not.toBe(first.data.id);
    expect(await cacheHits(gateway, tenantId)).toEqual([false, true]);

    // A request the cache is not asked for carries no verdict.
    const plain = await client.chat.completions.create({ ...request, temperature: 0.5 }).withResponse();
    expect(plain.response.headers.get('x-tollgate-cache')).toBeNull();

    // The usage report counts the hit and the tokens the upstream did not have to generate.
    await gateway.app.deps.usageMeter.flush();
    const range = { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 3_600_000).toISOString() };
    const report = await graphqlRequest<{ tenant: { usage: { totals: { requests: number; cacheHits: number; cacheHitRate: number }; cache: { hits: number; hitRate: number; tokensSaved: number } } } }>(
      gateway.url,
      'query($id: ID!, $range: DateRangeInput!) { tenant(id: $id) { usage(range: $range) { totals { requests cacheHits cacheHitRate } cache { hits hitRate tokensSaved } } } }',
      { id: tenantId, range },
      asAdmin(),
    );
    expect(report.errors).toBeUndefined();
    expect(report.data!.tenant.usage).toEqual({
      totals: { requests: 3, cacheHits: 1, cacheHitRate: 1 / 3 },
      cache: { hits: 1, hitRate: 1 / 3, tokensSaved: second.data.usage!.total_tokens },
    });
  });

  it('replays a cached answer as an SSE stream, with the same text and usage, and a one-shot repeat of a stream', async () => {
    const tenantId = await createTenant(gateway, 'Cache streams');
    const client = openai(gateway, tenantId);
    const request = { model: 'chat-model', temperature: 0, messages: [{ role: 'user' as const, content: 'stream it twice' }] };
    const before = chatUpstreamCalls(upstream);
    const first = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } }).withResponse();
    expect(first.response.headers.get('x-tollgate-cache')).toBe('miss');
    const live = await readStream(first.data);
    const again = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } }).withResponse();
    expect(again.response.headers.get('x-tollgate-cache')).toBe('hit');
    const replayed = await readStream(again.data);
    expect(chatUpstreamCalls(upstream)).toBe(before + 1);
    expect(live.text).toBe(fakeTokens('stream it twice', 5).join(''));
    expect(replayed).toEqual(live);

    // Streaming does not shape the answer: the one-shot form of the same request is a hit too.
    const oneShot = await client.chat.completions.create(request).withResponse();
    expect(oneShot.response.headers.get('x-tollgate-cache')).toBe('hit');
    expect(oneShot.data.choices[0]?.message.content).toBe(live.text);
    expect(oneShot.data.usage).toEqual(live.usage);
    expect(chatUpstreamCalls(upstream)).toBe(before + 1);
    expect(await cacheHits(gateway, tenantId)).toEqual([false, true, true]);
    // A stream asking for log probabilities is neither kept nor replayed: a replay could not carry them.
    const withLogprobs = { ...request, stream: true as const, logprobs: true };
    await readStream((await client.chat.completions.create(withLogprobs).withResponse()).data);
    const again2 = await client.chat.completions.create(withLogprobs).withResponse();
    expect(again2.response.headers.get('x-tollgate-cache')).toBeNull();
    await readStream(again2.data);
    expect(chatUpstreamCalls(upstream)).toBe(before + 3);
  });

  it('keys on every field that shapes the answer, and never crosses tenants', async () => {
    const tenantId = await createTenant(gateway, 'Cache keys');
    const other = await createTenant(gateway, 'Cache neighbour');
    const client = openai(gateway, tenantId);
    const request = { model: 'chat-model', temperature: 0, messages: [{ role: 'user' as const, content: 'what shapes me' }] };
    await client.chat.completions.create(request);
    const variants = [
      { ...request, max_tokens: 3 },
      { ...request, seed: 7 },
      { ...request, stop: ['x'] },
      { ...request, response_format: { type: 'json_object' as const } },
      { ...request, tools: [{ type: 'function' as const, function: { name: 'f', parameters: { type: 'object' } } }] },
      { ...request, messages: [{ role: 'system' as const, content: 'be brief' }, ...request.messages] },
    ];
    for (const variant of variants) {
      const answer = await client.chat.completions.create(variant).withResponse();
      expect(answer.response.headers.get('x-tollgate-cache'), JSON.stringify(variant)).toBe('miss');
    }
    const neighbour = await openai(gateway, other).chat.completions.create(request).withResponse();
    expect(neighbour.response.headers.get('x-tollgate-cache')).toBe('miss');
    const repeat = await client.chat.completions.create(request).withResponse();
    expect(repeat.response.headers.get('x-tollgate-cache')).toBe('hit');
  });

  it('serves a graphql-ws subscription from the cache as a stream of chunks', async () => {
    const tenantId = await createTenant(gateway, 'Cache subscription');
    const ws = createClient({
      url: `${gateway.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${testAdminKey}`, 'x-tenant-id': tenantId },
      retryAttempts: 0,
    });
    try {
      const input = { model: 'chat-model', temperature: 0, cache: true, messages: [{ role: 'user', content: 'subscribe twice' }] };
      const run = async () => {
        const chunks: { delta: string; finishReason: string | null; usage: { totalTokens: number } | null }[] = [];
        const subscription = ws.iterate<{ chatCompletion: (typeof chunks)[number] }>({
          query: 'subscription($input: ChatCompletionInput!) { chatCompletion(input: $input) { delta finishReason usage { totalTokens } } }',
          variables: { input },
        });
        for await (const result of subscription) {
          expect(result.errors).toBeUndefined();
          chunks.push(result.data!.chatCompletion);
        }
        return { text: chunks.map((c) => c.delta).join(''), finish: chunks.at(-1)?.finishReason, usage: chunks.at(-1)?.usage };
      };
      const before = chatUpstreamCalls(upstream);
      const live = await run();
      const replayed = await run();
      expect(chatUpstreamCalls(upstream)).toBe(before + 1);
      expect(live).toEqual({ text: fakeTokens('subscribe twice', 5).join(''), finish: 'stop', usage: { totalTokens: expect.any(Number) } });
      expect(replayed).toEqual(live);
      expect(await cacheHits(gateway, tenantId)).toEqual([false, true]);
    } finally {
      await ws.dispose();
    }
  });
});

const postgres = sqlDialects().find((dialect) => dialect.name === 'postgres');

describeOnEachRedis('response cache shared by two instances through $name', postgres !== undefined, (target) => {
  let upstream: FakeUpstream;
  let database: TestSqlDatabase;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 4 } });
    database = await postgres!.create();
    // Each instance has its own in-process level: only Redis can carry an answer from one to the other.
    a = await startTestApp({ databaseUrl: database.databaseUrl, redisUrl: target.url, inference: inference(upstream) });
    b = await startTestApp({ databaseUrl: database.databaseUrl, redisUrl: target.url, inference: inference(upstream) });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await upstream?.close();
    await database?.dispose();
  });

  it('answers on one instance what the other asked the upstream, for the same tenant only', async () => {
    const tenantId = await createTenant(a, 'Shared cache');
    const other = await createTenant(a, 'Shared neighbour');
    const request = { model: 'chat-model', temperature: 0, messages: [{ role: 'user' as const, content: 'across instances' }] };
    const before = chatUpstreamCalls(upstream);
    const onA = await openai(a, tenantId).chat.completions.create(request).withResponse();
    const onB = await openai(b, tenantId).chat.completions.create(request).withResponse();
    expect(onA.response.headers.get('x-tollgate-cache')).toBe('miss');
    expect(onB.response.headers.get('x-tollgate-cache')).toBe('hit');
    expect(onB.data.choices[0]?.message.content).toBe(onA.data.choices[0]?.message.content);
    expect(chatUpstreamCalls(upstream)).toBe(before + 1);

    const streamedOnB = await openai(b, other).chat.completions.create({ ...request, stream: true }).withResponse();
    expect(streamedOnB.response.headers.get('x-tollgate-cache')).toBe('miss');
    await readStream(streamedOnB.data);
    expect(chatUpstreamCalls(upstream)).toBe(before + 2);
    const streamedOnA = await openai(a, other).chat.completions.create({ ...request, stream: true }).withResponse();
    expect(streamedOnA.response.headers.get('x-tollgate-cache')).toBe('hit');
    expect((await readStream(streamedOnA.data)).text).toBe(onA.data.choices[0]?.message.content);
    expect(chatUpstreamCalls(upstream)).toBe(before + 2);

    await b.app.deps.usageMeter.flush();
    expect(await cacheHits(a, tenantId)).toEqual([false, true]);
  });
});

describe.skipIf(postgres === undefined)('response cache kept in the SQL database', () => {
  let upstream: FakeUpstream;
  let database: TestSqlDatabase;
  let gateway: TestApp | undefined;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 4 } });
    database = await postgres!.create();
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
    await database?.dispose();
  });

  const start = () => startTestApp({ databaseUrl: database.databaseUrl, inference: inference(upstream), config: { cache: { persistentTtlMs: 3_600_000 } } });

  it('survives a restart until the entry expires', async () => {
    gateway = await start();
    const tenantId = await createTenant(gateway, 'Persistent cache');
    const request = { model: 'chat-model', temperature: 0, messages: [{ role: 'user' as const, content: 'remember me' }] };
    const before = chatUpstreamCalls(upstream);
    const first = await openai(gateway, tenantId).chat.completions.create(request);
    await gateway.stop();

    gateway = await start();
    const afterRestart = await openai(gateway, tenantId).chat.completions.create(request).withResponse();
    expect(afterRestart.response.headers.get('x-tollgate-cache')).toBe('hit');
    expect(afterRestart.data.choices[0]?.message.content).toBe(first.choices[0]?.message.content);
    expect(chatUpstreamCalls(upstream)).toBe(before + 1);
    await gateway.stop();

    // An entry past its expiry is a miss: moved into the past rather than waited for.
    const sql = new pg.Client({ connectionString: database.databaseUrl });
    await sql.connect();
    try {
      const { rowCount } = await sql.query("UPDATE response_cache SET expires_at = now() - interval '1 second' WHERE tenant_id = $1", [tenantId]);
      expect(rowCount).toBe(1);
    } finally {
      await sql.end();
    }
    gateway = await start();
    const expired = await openai(gateway, tenantId).chat.completions.create(request).withResponse();
    expect(expired.response.headers.get('x-tollgate-cache')).toBe('miss');
    expect(chatUpstreamCalls(upstream)).toBe(before + 2);
  });
});
