import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fakePromptTokens, fakeTokens, startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';

let upstream: FakeUpstream;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startFakeUpstream({ models: ['m1', 'm2'] });
  client = new OpenAI({ baseURL: upstream.openaiBaseUrl, apiKey: 'k', maxRetries: 0 });
});
afterAll(() => upstream.close());
beforeEach(() => upstream.reset());

async function postJson(path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${upstream.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return response;
}

async function ndjson(response: Response): Promise<Record<string, unknown>[]> {
  const text = await response.text();
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('fake upstream, OpenAI dialect', () => {
  it('answers chat deterministically with usage, as the official SDK sees it', async () => {
    const messages = [{ role: 'user' as const, content: 'hello there friend' }];
    const a = await client.chat.completions.create({ model: 'm1', messages });
    const b = await client.chat.completions.create({ model: 'm1', messages });
    expect(a.choices[0]?.message.content).toBe(fakeTokens('hello there friend', 5).join(''));
    expect(b.choices[0]?.message.content).toBe(a.choices[0]?.message.content);
    expect(a.usage).toEqual({ prompt_tokens: fakePromptTokens(['hello there friend']), completion_tokens: 5, total_tokens: 9 });
    expect(upstream.requests.at(-1)?.path).toBe('/v1/chat/completions');
  });

  it('streams SSE with a usage chunk only when stream_options.include_usage is set', async () => {
    const messages = [{ role: 'user' as const, content: 'x' }];
    const withUsage = await client.chat.completions.create({ model: 'm1', messages, stream: true, stream_options: { include_usage: true } });
    const parts: string[] = [];
    let usage: unknown;
    for await (const chunk of withUsage) {
      parts.push(chunk.choices[0]?.delta.content ?? '');
      if (chunk.usage) usage = chunk.usage;
    }
    expect(parts.join('')).toBe(fakeTokens('x', 5).join(''));
    expect(usage).toMatchObject({ completion_tokens: 5 });

    const without = await client.chat.completions.create({ model: 'm1', messages, stream: true });
    for await (const chunk of without) expect(chunk.usage ?? undefined).toBeUndefined();
  });

  it('caps tokens at max_tokens with finish reason "length", and serves completions, embeddings and models', async () => {
    const capped = await client.chat.completions.create({ model: 'm1', messages: [{ role: 'user', content: 'q' }], max_tokens: 2 });
    expect(capped.choices[0]?.finish_reason).toBe('length');
    expect(capped.usage?.completion_tokens).toBe(2);

    const completion = await client.completions.create({ model: 'm1', prompt: 'once upon' });
    expect(completion.choices[0]?.text).toBe(fakeTokens('once upon', 5).join(''));

    const embeddings = await client.embeddings.create({ model: 'e', input: ['a', 'b'] });
    expect(embeddings.data).toHaveLength(2);
    expect(embeddings.data[0]?.embedding).toHaveLength(8);

    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['m1', 'm2']);
  });

  it('fails with 429 and Retry-After, per header, per model name, and only fail-times times', async () => {
    const byHeader = await postJson('/v1/chat/completions', { model: 'm', messages: [] }, { 'x-fake-fail': '429' });
    expect(byHeader.status).toBe(429);
    expect(byHeader.headers.get('retry-after')).toBe('1');

    const byModel = await postJson('/v1/chat/completions', { model: 'm?fail=503&retry-after=7', messages: [] });
    expect(byModel.status).toBe(503);
    expect(byModel.headers.get('retry-after')).toBe('7');

    upstream.setBehaviour({ fail: 500, failTimes: 1 });
    expect((await postJson('/v1/chat/completions', { model: 'm', messages: [] })).status).toBe(500);
    expect((await postJson('/v1/chat/completions', { model: 'm', messages: [] })).status).toBe(200);
  });

  it('cuts a stream after N chunks by destroying the socket', async () => {
    const response = await postJson('/v1/chat/completions', { model: 'm?cut-after=2', messages: [], stream: true });
    await expect(response.text()).rejects.toThrow();
  });

  it('ends a stream cleanly without a terminator when asked', async () => {
    const response = await postJson('/v1/chat/completions', { model: 'm', messages: [], stream: true }, { 'x-fake-end-after': '2' });
    const text = await response.text();
    expect(text).not.toContain('[DONE]');
    expect(text).not.toContain('"finish_reason":"stop"');
  });

  it('puts usage on the last chunk with choices when asked, and omits it when asked', async () => {
    const withChoices = await (await postJson('/v1/chat/completions', { model: 'm?usage-with-choices=1', messages: [], stream: true })).text();
    expect(withChoices).toMatch(/"finish_reason":"stop"\}\],"usage":\{/);
    const omitted = await (
      await postJson('/v1/chat/completions', { model: 'm?omit-usage=1', messages: [], stream: true, stream_options: { include_usage: true } })
    ).text();
    expect(omitted).not.toContain('"usage":');
  });

  it('sees a client that goes away from a hanging request', async () => {
    const controller = new AbortController();
    const abortSeen = upstream.nextAbort();
    const request = fetch(`${upstream.openaiBaseUrl}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'm?hang=1', messages: [] }),
      headers: { 'content-type': 'application/json' },
      signal: controller.signal,
    }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const abortedAt = performance.now();
    controller.abort();
    expect((await abortSeen) - abortedAt).toBeLessThan(100);
    await request;
    expect(upstream.abortedRequests).toBe(1);
  });

  it('honours the first-token delay', async () => {
    const started = performance.now();
    await client.chat.completions.create({ model: 'm?first-token-delay-ms=60', messages: [{ role: 'user', content: 'q' }] });
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });
});

describe('fake upstream, Ollama dialect', () => {
  it('streams NDJSON and ends with prompt_eval_count and eval_count', async () => {
    const lines = await ndjson(await postJson('/api/chat', { model: 'llama', messages: [{ role: 'user', content: 'hi you' }] }));
    const last = lines.at(-1) ?? {};
    expect(last).toMatchObject({ done: true, done_reason: 'stop', prompt_eval_count: fakePromptTokens(['hi you']), eval_count: 5 });
    const text = lines
      .slice(0, -1)
      .map((l) => (l.message as { content: string }).content)
      .join('');
    expect(text).toBe(fakeTokens('hi you', 5).join(''));
  });

  it('answers non-streaming chat and generate, embeddings and tags', async () => {
    const chat = (await (await postJson('/api/chat', { model: 'llama', messages: [{ role: 'user', content: 'a' }], stream: false, options: { num_predict: 3 } })).json()) as Record<string, unknown>;
    expect(chat).toMatchObject({ done: true, done_reason: 'length', eval_count: 3 });
    const generate = (await (await postJson('/api/generate', { model: 'llama', prompt: 'p', stream: false })).json()) as Record<string, unknown>;
    expect(generate.response).toBe(fakeTokens('p', 5).join(''));
    const embed = (await (await postJson('/api/embed', { model: 'e', input: 'one' })).json()) as { embeddings: number[][] };
    expect(embed.embeddings).toHaveLength(1);
    const tags = (await (await fetch(`${upstream.url}/api/tags`)).json()) as { models: { name: string }[] };
    expect(tags.models.map((m) => m.name)).toEqual(['m1', 'm2']);
  });

  it('fails with an Ollama-shaped error body', async () => {
    const response = await postJson('/api/chat', { model: 'llama?fail=500', messages: [] });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: 'fake upstream failure 500' });
  });
});
