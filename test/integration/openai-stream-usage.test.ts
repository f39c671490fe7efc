import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateTenantDocument } from '../../client/src/generated/graphql.ts';
import { adminClient, asAdmin, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';

// Upstreams that put usage on chunks with choices (vLLM's continuous usage stats, llama.cpp's last
// chunk): a client that did not ask for usage never sees it, one that did sees it as OpenAI sends it (a
// chunk of its own at the end, choices empty), one that asked vLLM for continuous usage gets every chunk
// as it came. The usage event is the upstream's final count, recorded once.

const vllm = 'upstream?continuous-usage=1';
const llamaCpp = 'upstream?usage-with-choices=1';

describe('usage on stream chunks with choices', () => {
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let tenantId: string;
  let client: OpenAI;
  let direct: OpenAI;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 4 } });
    gateway = await startTestApp({
      inference: {
        providers: [{ name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl }],
        models: [
          { name: 'vllm-model', kind: 'chat', deployments: [{ provider: 'gpu-a', model: vllm, weight: 1 }] },
          { name: 'llama-model', kind: 'chat', deployments: [{ provider: 'gpu-a', model: llamaCpp, weight: 1 }] },
        ],
      },
    });
    tenantId = (await adminClient(gateway.url).execute(CreateTenantDocument, { input: { name: 'Stream Usage Co', plan: 'enterprise' } })).createTenant.tenant.id;
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId }, maxRetries: 0 });
    direct = new OpenAI({ baseURL: upstream.openaiBaseUrl, apiKey: 'direct', maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  /** The chunks, with the id the fake numbers per request left out so two answers compare. */
  async function collect(openai: OpenAI, params: OpenAI.ChatCompletionCreateParamsStreaming, requestId?: string): Promise<OpenAI.ChatCompletionChunk[]> {
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    const stream = await openai.chat.completions.create(params, requestId ? { headers: { 'x-request-id': requestId } } : {});
    for await (const chunk of stream) chunks.push({ ...chunk, id: 'same' });
    return chunks;
  }

  /** The upstream's own stream for the same request, with every usage block it sends (include_usage on). */
  const straight = (params: OpenAI.ChatCompletionCreateParamsStreaming, model: string) =>
    collect(direct, { ...params, model, stream_options: { ...params.stream_options, include_usage: true } });

  async function recordedEvent(requestId: string) {
    const read = async () => {
      const result = await graphqlRequest<{ tenant: { usageEvents: { edges: { node: { requestId: string; promptTokens: number; completionTokens: number; totalTokens: number; tokensEstimated: boolean } }[] } } }>(
        gateway.url,
        `query($id: ID!) { tenant(id: $id) { usageEvents(first: 50) { edges { node { requestId promptTokens completionTokens totalTokens tokensEstimated } } } } }`,
        { id: tenantId },
        asAdmin(),
      );
      return result.data!.tenant.usageEvents.edges.map((edge) => edge.node).filter((event) => event.requestId === requestId);
    };
    await expect.poll(read, { timeout: 5_000 }).toHaveLength(1);
    return (await read())[0]!;
  }

  const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'count along' }];
  const withoutUsage = (chunks: OpenAI.ChatCompletionChunk[], model: string) =>
    chunks.filter((chunk) => chunk.choices.length > 0).map(({ usage: _usage, ...chunk }) => ({ ...chunk, model }));

  it('never shows usage to a client that did not ask, and meters the final count once', async () => {
    const params: OpenAI.ChatCompletionCreateParamsStreaming = { model: 'vllm-model', messages, stream: true };
    const chunks = await collect(client, params, 'vllm-no-usage');
    const upstreamChunks = await straight(params, vllm);
    // The fake does send usage on every chunk with choices, and a usage chunk at the end.
    expect(upstreamChunks.filter((chunk) => chunk.choices.length > 0).every((chunk) => chunk.usage)).toBe(true);
    expect(chunks.some((chunk) => 'usage' in chunk)).toBe(false);
    expect(chunks).toEqual(withoutUsage(upstreamChunks, 'vllm-model'));
    const final = upstreamChunks.at(-1)!.usage!;
    expect(await recordedEvent('vllm-no-usage')).toMatchObject({ promptTokens: final.prompt_tokens, completionTokens: final.completion_tokens, totalTokens: final.total_tokens, tokensEstimated: false });
  });

  it('shows a client that asked the usage in a chunk of its own at the end, as OpenAI sends it', async () => {
    const params: OpenAI.ChatCompletionCreateParamsStreaming = { model: 'vllm-model', messages, stream: true, stream_options: { include_usage: true } };
    const chunks = await collect(client, params, 'vllm-usage');
    const upstreamChunks = await straight(params, vllm);
    expect(chunks.slice(0, -1)).toEqual(withoutUsage(upstreamChunks, 'vllm-model'));
    expect(chunks.at(-1)).toEqual({ ...upstreamChunks.at(-1), model: 'vllm-model' });
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.filter((chunk) => chunk.usage)).toHaveLength(1);
    const final = upstreamChunks.at(-1)!.usage!;
    expect(await recordedEvent('vllm-usage')).toMatchObject({ totalTokens: final.total_tokens, tokensEstimated: false });
  });

  it('relays every chunk as it came to a client that asked vLLM for continuous usage', async () => {
    const params = { model: 'vllm-model', messages, stream: true, stream_options: { include_usage: true, continuous_usage_stats: true } } as OpenAI.ChatCompletionCreateParamsStreaming;
    const chunks = await collect(client, params);
    expect(upstream.requests.at(-1)?.body).toEqual({ ...params, model: vllm });
    const upstreamChunks = await straight(params, vllm);
    expect(chunks).toEqual(upstreamChunks.map((chunk) => ({ ...chunk, model: 'vllm-model' })));
  });

  it('moves usage sent on the last chunk with choices into a usage chunk of its own', async () => {
    const params: OpenAI.ChatCompletionCreateParamsStreaming = { model: 'llama-model', messages, stream: true, stream_options: { include_usage: true } };
    const chunks = await collect(client, params, 'llama-usage');
    const upstreamChunks = await straight(params, llamaCpp);
    // The upstream puts usage on its finish chunk and sends no usage chunk.
    expect(upstreamChunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    const usage = upstreamChunks.at(-1)!.usage!;
    expect(usage).toBeTruthy();
    expect(chunks.slice(0, -1)).toEqual(withoutUsage(upstreamChunks, 'llama-model'));
    expect(chunks.at(-1)).toEqual({ ...upstreamChunks.at(-1), model: 'llama-model', choices: [] });

    const unasked = await collect(client, { ...params, stream_options: undefined });
    expect(unasked.some((chunk) => 'usage' in chunk)).toBe(false);
    expect(await recordedEvent('llama-usage')).toMatchObject({ totalTokens: usage.total_tokens, tokensEstimated: false });
  });
});
