import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fakePromptTokens, fakeTokens, startFakeUpstream, type FakeUpstream } from '../../test/testkit/fake-upstream.ts';
import { OllamaProvider } from './ollama/ollama-provider.ts';
import { OpenAiCompatibleProvider } from './openai-compatible/openai-compatible-provider.ts';
import type { LlmProvider, StreamChunk } from './provider.ts';
import { ProviderError } from './provider-error.ts';
import { readyTaker } from './ready-chunks.ts';
import { countTokens, estimatePromptTokens } from './token-estimator.ts';

// Both adapters against the fake upstream over real sockets: the same behaviour is expected from each
// dialect, so the scenarios run once per adapter.

let upstream: FakeUpstream;
beforeAll(async () => {
  upstream = await startFakeUpstream({ models: ['m1', 'm2'] });
});
afterAll(() => upstream.close());
beforeEach(() => upstream.reset());

async function collect(stream: AsyncIterable<StreamChunk>): Promise<StreamChunk[]> {
  const chunks: StreamChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProviderError) return error;
    throw error;
  }
  throw new Error('expected a ProviderError');
}

const adapters = [
  {
    type: 'openai',
    make: (baseUrl?: string, apiKey?: string) =>
      new OpenAiCompatibleProvider({ name: 'gpu', baseUrl: baseUrl ?? upstream.openaiBaseUrl, apiKey }),
    chatPath: '/v1/chat/completions',
  },
  {
    type: 'ollama',
    make: (baseUrl?: string, apiKey?: string) => new OllamaProvider({ name: 'gpu', baseUrl: baseUrl ?? upstream.url, apiKey }),
    chatPath: '/api/chat',
  },
] as const;

describe.each(adapters)('$type adapter', ({ make, chatPath }) => {
  let provider: LlmProvider;
  beforeAll(() => {
    provider = make();
  });
  afterAll(() => provider.close());

  const messages = [{ role: 'user', content: 'tell me a story' }];
  const expected = fakeTokens('tell me a story', 5).join('');
  const upstreamUsage = {
    promptTokens: fakePromptTokens(['tell me a story']),
    completionTokens: 5,
    totalTokens: fakePromptTokens(['tell me a story']) + 5,
    estimated: false,
  };

  it('chats and takes the upstream token counts', async () => {
    const result = await provider.chat({ model: 'm1', messages, maxTokens: 50 });
    expect(result).toMatchObject({ model: 'm1', content: expected, finishReason: 'stop', usage: upstreamUsage });
    expect(upstream.requests.at(-1)?.path).toBe(chatPath);
  });

  it('streams the tokens and ends with one chunk carrying the finish reason and usage', async () => {
    const chunks = await collect(provider.stream({ model: 'm1', messages }));
    expect(chunks.slice(0, -1).map((c) => c.delta)).toEqual(fakeTokens('tell me a story', 5));
    expect(chunks.at(-1)).toEqual({ delta: '', finishReason: 'stop', usage: upstreamUsage });
  });

  it('reports finish reason "length" when max tokens cut the answer', async () => {
    const chunks = await collect(provider.stream({ model: 'm1', messages, maxTokens: 2 }));
    expect(chunks.at(-1)).toMatchObject({ finishReason: 'length', usage: { completionTokens: 2 } });
  });

  it('completes a prompt, streaming and not', async () => {
    const result = await provider.complete({ model: 'm1', prompt: 'once upon a time' });
    expect(result.content).toBe(fakeTokens('once upon a time', 5).join(''));
    expect(result.usage.estimated).toBe(false);
    const chunks = await collect(provider.streamCompletion({ model: 'm1', prompt: 'once upon a time' }));
    expect(chunks.map((c) => c.delta).join('')).toBe(result.content);
    expect(chunks.at(-1)?.usage).toEqual(result.usage);
  });

  it('embeds, lists models and checks health', async () => {
    const result = await provider.embeddings({ model: 'e', input: ['one two', 'three'] });
    expect(result.embeddings).toHaveLength(2);
    expect(result.embeddings[0]).toHaveLength(8);
    expect(result.usage).toEqual({ promptTokens: fakePromptTokens(['one two', 'three']), completionTokens: 0, totalTokens: 5, estimated: false });
    expect(await provider.listModels()).toEqual([{ id: 'm1' }, { id: 'm2' }]);
    await expect(provider.health()).resolves.toBeUndefined();
  });

  it('estimates with the tokenizer when the upstream gives no usage, and says so', async () => {
    upstream.setBehaviour({ omitUsage: true });
    const prompt = await estimatePromptTokens(messages);
    const completion = await countTokens(expected);
    const usage = { promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion, estimated: true };
    expect((await provider.chat({ model: 'm1', messages })).usage).toEqual(usage);
    expect((await collect(provider.stream({ model: 'm1', messages }))).at(-1)?.usage).toEqual(usage);
  });

  it('classifies 429 with Retry-After, 5xx and the caller-side 4xx', async () => {
    const limited = await failure(provider.chat({ model: 'm1?fail=429&retry-after=2', messages }));
    expect(limited).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 2000, provider: 'gpu' });
    expect(await failure(provider.chat({ model: 'm1?fail=503', messages }))).toMatchObject({ kind: 'server', status: 503 });
    const refused = await failure(provider.chat({ model: 'm1?fail=400', messages }));
    expect(refused).toMatchObject({ kind: 'client', status: 400 });
    expect(refused.message).toContain('fake upstream failure 400');
    expect(await failure(collect(provider.stream({ model: 'm1?fail=500', messages })))).toMatchObject({ kind: 'server' });
  });

  it('classifies a refused connection as a connect failure', async () => {
    const dead = await startFakeUpstream();
    await dead.close();
    const unreachable = make(chatPath.startsWith('/v1') ? dead.openaiBaseUrl : dead.url);
    expect(await failure(unreachable.chat({ model: 'm1', messages }))).toMatchObject({ kind: 'connect' });
    await unreachable.close();
  });

  it('fails a stream that is cut or ends without finishing, after yielding what came', async () => {
    const seen: string[] = [];
    const consume = async (model: string) => {
      for await (const chunk of provider.stream({ model, messages })) seen.push(chunk.delta);
    };
    expect(await failure(consume('m1?cut-after=2'))).toMatchObject({ kind: 'protocol' });
    expect(seen).toEqual(fakeTokens('tell me a story', 2));
    seen.length = 0;
    const ended = await failure(consume('m1?end-after=3'));
    expect(ended).toMatchObject({ kind: 'protocol' });
    expect(ended.message).toContain('before it finished');
    expect(seen).toHaveLength(3);
  });

  // The upstream would never end these requests by itself, so seeing the abort at all proves it was passed on.
  it('aborts the upstream request when the caller goes away', async () => {
    const controller = new AbortController();
    const pending = failure(provider.chat({ model: 'm1?hang=1', messages }, { signal: controller.signal }));
    const seen = upstream.nextAbort();
    await new Promise((resolve) => setTimeout(resolve, 30));
    controller.abort();
    await seen;
    expect(await pending).toMatchObject({ kind: 'aborted' });
  });

  it('aborts a stream in flight, and stops yielding', async () => {
    const controller = new AbortController();
    const seen = upstream.nextAbort();
    const chunks: string[] = [];
    const consumed = failure(
      (async () => {
        for await (const chunk of provider.stream({ model: 'm1?tokens=100000&token-delay-ms=20', messages }, { signal: controller.signal })) {
          chunks.push(chunk.delta);
          if (chunks.length === 2) controller.abort();
        }
      })(),
    );
    expect(await consumed).toMatchObject({ kind: 'aborted' });
    await seen;
    expect(chunks).toHaveLength(2);
  });

  it('closes the upstream connection when the consumer stops iterating', async () => {
    const seen = upstream.nextAbort();
    for await (const chunk of provider.stream({ model: 'm1?tokens=100000&token-delay-ms=20', messages })) {
      if (chunk.delta) break;
    }
    await seen;
  });

  it('keeps connections alive between requests and sends the bearer key', async () => {
    const keyed = make(undefined, 'own-key');
    for (let i = 0; i < 3; i++) {
      await keyed.chat({ model: 'm1', messages });
      await collect(keyed.stream({ model: 'm1', messages }));
    }
    await keyed.chat({ model: 'm1', messages }, { apiKey: 'tenant-key', requestId: 'req-1' });
    const recent = upstream.requests.slice(-7);
    // Sequential calls reuse pooled sockets rather than opening one each.
    expect(new Set(recent.map((r) => r.remotePort)).size).toBeLessThanOrEqual(2);
    expect(recent[0]?.headers.authorization).toBe('Bearer own-key');
    expect(recent[6]?.headers.authorization).toBe('Bearer tenant-key');
    expect(recent[6]?.headers['x-request-id']).toBe('req-1');
    await keyed.close();
  });
});

describe('openai adapter specifics', () => {
  const provider = new OpenAiCompatibleProvider({ name: 'gpu', baseUrl: 'http://127.0.0.1:1/v1' });
  let live: OpenAiCompatibleProvider;
  beforeAll(() => {
    live = new OpenAiCompatibleProvider({ name: 'gpu', baseUrl: upstream.openaiBaseUrl });
  });
  afterAll(async () => {
    await live.close();
    await provider.close();
  });
  const messages = [{ role: 'user', content: 'hi' }];

  it('asks for stream_options.include_usage itself and passes extra fields through', async () => {
    await collect(live.stream({ model: 'm1', messages, temperature: 0.5, stop: ['\n'], extra: { seed: 7, stream_options: { continuous_usage_stats: true } } }));
    expect(upstream.requests.at(-1)?.body).toMatchObject({
      model: 'm1',
      stream: true,
      temperature: 0.5,
      stop: ['\n'],
      seed: 7,
      stream_options: { include_usage: true, continuous_usage_stats: true },
    });
  });

  it('reads usage from a final chunk whose choices are not empty', async () => {
    const last = (await collect(live.stream({ model: 'm1?usage-with-choices=1', messages }))).at(-1);
    expect(last?.usage).toMatchObject({ completionTokens: 5, estimated: false });
  });

  it('hands over the events before a malformed one sent in the same write, taken ready or awaited', async () => {
    const event = (content: string) => `data: ${JSON.stringify({ id: 'c', model: 'm1', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`${event('one')}${event('two')}${event('three')}data: {not json\n\n`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const raw = new OpenAiCompatibleProvider({ name: 'gpu', baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` });
    try {
      const awaited: string[] = [];
      const consumeAwaiting = async () => {
        for await (const chunk of raw.stream({ model: 'm1', messages })) awaited.push(chunk.delta);
      };
      expect((await failure(consumeAwaiting())).message).toContain('a stream event that is not JSON');
      expect(awaited).toEqual(['one', 'two', 'three']);

      const taken: string[] = [];
      const consumeReady = async () => {
        const iterator = raw.stream({ model: 'm1', messages })[Symbol.asyncIterator]();
        const takeReady = readyTaker(iterator);
        expect(takeReady).toBeDefined();
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
          taken.push(next.value.delta);
          for (let ready = takeReady!(); ready; ready = takeReady!()) taken.push(`${ready.delta} (ready)`);
        }
      };
      expect((await failure(consumeReady())).message).toContain('a stream event that is not JSON');
      expect(taken).toEqual(['one', 'two (ready)', 'three (ready)']);
    } finally {
      await raw.close();
      server.close();
    }
  });
});

describe('ollama adapter specifics', () => {
  let live: OllamaProvider;
  beforeAll(() => {
    live = new OllamaProvider({ name: 'local', baseUrl: upstream.url });
  });
  afterAll(() => live.close());

  it('puts sampling settings in options and keeps other extra fields at the top', async () => {
    await live.chat({ model: 'llama', messages: [], maxTokens: 3, temperature: 0, topP: 0.9, stop: ['x'], extra: { keep_alive: '5m', options: { num_ctx: 4096 } } });
    expect(upstream.requests.at(-1)?.body).toEqual({
      keep_alive: '5m',
      model: 'llama',
      messages: [],
      stream: false,
      options: { num_ctx: 4096, num_predict: 3, temperature: 0, top_p: 0.9, stop: ['x'] },
    });
  });
});
