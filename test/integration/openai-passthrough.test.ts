import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateTenantDocument } from '../../client/src/generated/graphql.ts';
import { adminClient, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { fakeImageTokens } from '../testkit/fake-chat-answer.ts';
import { fakePromptTokens, startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';

// The OpenAI wire through the gateway to an OpenAI-compatible upstream, with the official SDK: what
// the upstream receives is what the client sent (model aside, include_usage forced on streams), and
// what the client gets is what the upstream answered (model aside) - compared with the same request
// sent straight to the upstream.

const weatherTool: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

/** The fake's knobs in the deployment's model name: it shows reasoning and reports cached prompt tokens. */
const thinkerUpstream = 'upstream-think?reasoning=1&cached-tokens=3';
/** Indents its whole answers, as OpenAI's own API does. */
const prettyUpstream = 'upstream-chat?pretty=1';
const upstreamModel = (model: string) => (model === 'thinker' ? thinkerUpstream : model === 'pretty' ? prettyUpstream : 'upstream-chat');

/** Ids the fake numbers per request differ between two otherwise equal answers. */
function sameUpTo<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value).replace(/(chatcmpl-fake|call_fake)_?-?\d+/g, '$1-N'));
}

describe('OpenAI chat wire passed through to an OpenAI-compatible upstream', () => {
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let client: OpenAI;
  let direct: OpenAI;
  let tenantId: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 4 } });
    gateway = await startTestApp({
      inference: {
        providers: [{ name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl }],
        models: [
          { name: 'chat-model', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'upstream-chat', weight: 1 }] },
          { name: 'thinker', kind: 'chat', deployments: [{ provider: 'gpu-a', model: thinkerUpstream, weight: 1 }] },
          { name: 'pretty', kind: 'chat', deployments: [{ provider: 'gpu-a', model: prettyUpstream, weight: 1 }] },
        ],
      },
    });
    tenantId = (await adminClient(gateway.url).execute(CreateTenantDocument, { input: { name: 'Wire Co', plan: 'enterprise' } })).createTenant.tenant.id;
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId }, maxRetries: 0 });
    direct = new OpenAI({ baseURL: upstream.openaiBaseUrl, apiKey: 'direct', maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  /** Through the gateway and straight to the upstream: both answers, and the body the upstream got from the gateway. */
  async function both(params: OpenAI.ChatCompletionCreateParamsNonStreaming) {
    const viaGateway = await client.chat.completions.create(params);
    const received = upstream.requests.at(-1)?.body;
    const straight = await direct.chat.completions.create({ ...params, model: upstreamModel(params.model) });
    return { viaGateway, straight, received };
  }

  async function bothStreamed(params: OpenAI.ChatCompletionCreateParamsStreaming) {
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of await client.chat.completions.create(params)) chunks.push(chunk);
    const received = upstream.requests.at(-1)?.body;
    const straightChunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of await direct.chat.completions.create({ ...params, model: upstreamModel(params.model) })) straightChunks.push(chunk);
    return { chunks, straightChunks, received };
  }

  it('carries a tool round trip: the call, the tool result, the final answer', async () => {
    const first: OpenAI.ChatCompletionCreateParamsNonStreaming = {
      model: 'chat-model',
      messages: [
        { role: 'developer', content: 'Use the tools.' },
        { role: 'user', content: 'What is the weather in Oslo?', name: 'ann' },
      ],
      tools: [weatherTool],
      tool_choice: 'auto',
      parallel_tool_calls: false,
      seed: 7,
      stop: ['\n\n'],
      user: 'end-user-1',
      metadata: { purpose: 'test' },
      service_tier: 'auto',
      max_completion_tokens: 64,
      // Fields vLLM reads beyond OpenAI's.
      ...({ top_k: 20, min_p: 0.05, repetition_penalty: 1.1, chat_template_kwargs: { enable_thinking: false } } as object),
    };
    const call = await both(first);
    expect(call.received).toEqual({ ...first, model: 'upstream-chat' });
    expect(sameUpTo(call.viaGateway)).toEqual(sameUpTo({ ...call.straight, model: 'chat-model' }));
    const toolCall = call.viaGateway.choices[0]?.message.tool_calls?.[0];
    expect(call.viaGateway.choices[0]?.finish_reason).toBe('tool_calls');
    expect(toolCall).toMatchObject({ type: 'function', function: { name: 'get_weather' } });
    expect(JSON.parse((toolCall as OpenAI.ChatCompletionMessageFunctionToolCall).function.arguments)).toHaveProperty('query');

    const second: OpenAI.ChatCompletionCreateParamsNonStreaming = {
      ...first,
      messages: [...first.messages, call.viaGateway.choices[0]!.message as OpenAI.ChatCompletionAssistantMessageParam, { role: 'tool', tool_call_id: toolCall!.id, content: '{"celsius":4}' }],
    };
    const answer = await both(second);
    expect(answer.received).toEqual({ ...second, model: 'upstream-chat' });
    expect(sameUpTo(answer.viaGateway)).toEqual(sameUpTo({ ...answer.straight, model: 'chat-model' }));
    expect(answer.viaGateway.choices[0]?.message.content).toBeTruthy();
    expect(answer.viaGateway.choices[0]?.finish_reason).toBe('stop');
  });

  it('relays the upstream answer byte for byte, only the model rewritten', async () => {
    const body = { messages: [{ role: 'user', content: 'Relay me' }], tools: [weatherTool], logprobs: true };
    const post = async (url: string, headers: Record<string, string>, model: string) =>
      (await fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ ...body, model }) })).text();
    const viaGateway = await post(`${gateway.url}/v1`, { authorization: `Bearer ${testAdminKey}`, 'x-tenant-id': tenantId }, 'pretty');
    const straight = await post(upstream.openaiBaseUrl, {}, prettyUpstream);
    const sameIds = (text: string) => text.replace(/(chatcmpl-fake|call_fake)_?-?\d+/g, '$1-N');
    // The upstream indents its answer: parsed and serialised again, it would come back on one line.
    expect(straight).toContain(`\n  "model": ${JSON.stringify(prettyUpstream)},\n`);
    expect(sameIds(viaGateway)).toBe(sameIds(straight).replace(`"model": ${JSON.stringify(prettyUpstream)}`, '"model": "pretty"'));
  });

  it('streams a tool call with its arguments in pieces, in order, and withholds the usage chunk nobody asked for', async () => {
    const params: OpenAI.ChatCompletionCreateParamsStreaming = {
      model: 'chat-model',
      messages: [{ role: 'user', content: 'Weather in Lima please' }],
      tools: [weatherTool],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      stream: true,
    };
    const { chunks, straightChunks, received } = await bothStreamed(params);
    expect(received).toEqual({ ...params, model: 'upstream-chat', stream_options: { include_usage: true } });
    // Straight to the upstream without include_usage there is no usage chunk either.
    expect(sameUpTo(chunks)).toEqual(sameUpTo(straightChunks.map((chunk) => ({ ...chunk, model: 'chat-model' }))));
    expect(chunks.every((chunk) => !chunk.usage)).toBe(true);
    const pieces = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(pieces[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'get_weather', arguments: '' } });
    expect(pieces.length).toBe(4);
    const argumentsText = pieces.map((piece) => piece.function?.arguments ?? '').join('');
    expect(JSON.parse(argumentsText)).toHaveProperty('query');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('streams the answer to a tool result, the usage chunk included when asked for', async () => {
    const params: OpenAI.ChatCompletionCreateParamsStreaming = {
      model: 'chat-model',
      messages: [
        { role: 'user', content: 'Weather in Lima please' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lima"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny and warm' },
      ],
      tools: [weatherTool],
      stream: true,
      stream_options: { include_usage: true },
    };
    const { chunks, straightChunks, received } = await bothStreamed(params);
    expect(received).toEqual({ ...params, model: 'upstream-chat' });
    expect(sameUpTo(chunks)).toEqual(sameUpTo(straightChunks.map((chunk) => ({ ...chunk, model: 'chat-model' }))));
    expect(chunks.at(-1)?.usage?.completion_tokens).toBe(4);
  });

  it('passes structured output requests and answers through', async () => {
    const params: OpenAI.ChatCompletionCreateParamsNonStreaming = {
      model: 'chat-model',
      messages: [{ role: 'user', content: 'Answer in JSON' }],
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'answer', strict: true, schema: { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false } },
      },
    };
    const { viaGateway, straight, received } = await both(params);
    expect(received).toEqual({ ...params, model: 'upstream-chat' });
    expect(sameUpTo(viaGateway)).toEqual(sameUpTo({ ...straight, model: 'chat-model' }));
    expect(JSON.parse(viaGateway.choices[0]?.message.content ?? '')).toHaveProperty('answer');
  });

  it('passes image parts (a data URL with detail, an https URL) and keeps text parts apart', async () => {
    const image = `data:image/png;base64,${Buffer.from('not really a png').toString('base64')}`;
    const params: OpenAI.ChatCompletionCreateParamsNonStreaming = {
      model: 'chat-model',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in ' },
            { type: 'image_url', image_url: { url: image, detail: 'low' } },
            { type: 'text', text: 'and in this one?' },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
          ],
        },
      ],
    };
    const { viaGateway, straight, received } = await both(params);
    expect(received).toEqual({ ...params, model: 'upstream-chat' });
    expect(sameUpTo(viaGateway)).toEqual(sameUpTo({ ...straight, model: 'chat-model' }));
    expect(viaGateway.usage?.prompt_tokens).toBe(fakePromptTokens(['What is in and in this one?']) + 2 * fakeImageTokens);
    // The request log and traces record the request, never its messages or image data.
    const logs = gateway.logs.join('\n');
    expect(logs).toContain('"msg":"completion"');
    expect(logs).not.toContain('What is in');
    expect(logs).not.toContain(image.slice(22));
  });

  it('returns n choices with logprobs, whole and streamed', async () => {
    const params = { model: 'chat-model', messages: [{ role: 'user' as const, content: 'Two answers' }], n: 2, logprobs: true, top_logprobs: 2 };
    const whole = await both(params);
    expect(whole.received).toEqual({ ...params, model: 'upstream-chat' });
    expect(sameUpTo(whole.viaGateway)).toEqual(sameUpTo({ ...whole.straight, model: 'chat-model' }));
    expect(whole.viaGateway.choices.map((choice) => choice.index)).toEqual([0, 1]);
    expect(whole.viaGateway.choices[1]?.logprobs?.content?.[0]?.top_logprobs).toHaveLength(2);
    expect(whole.viaGateway.system_fingerprint).toBe('fp_fake');

    const streamed = await bothStreamed({ ...params, stream: true, stream_options: { include_usage: true } });
    expect(sameUpTo(streamed.chunks)).toEqual(sameUpTo(streamed.straightChunks.map((chunk) => ({ ...chunk, model: 'chat-model' }))));
    const texts = [0, 1].map((index) => streamed.chunks.flatMap((chunk) => chunk.choices.filter((c) => c.index === index).map((c) => c.delta.content ?? '')).join(''));
    expect(texts).toEqual(whole.viaGateway.choices.map((choice) => choice.message.content));
    expect(streamed.chunks.at(-1)?.usage?.completion_tokens).toBe(8);
  });

  it('streams reasoning before the answer and reports reasoning and cached tokens', async () => {
    const params: OpenAI.ChatCompletionCreateParamsStreaming = {
      model: 'thinker',
      messages: [{ role: 'user', content: 'Think first' }],
      reasoning_effort: 'low',
      stream: true,
      stream_options: { include_usage: true },
    };
    const { chunks, straightChunks, received } = await bothStreamed(params);
    expect(received).toEqual({ ...params, model: thinkerUpstream });
    expect(sameUpTo(chunks)).toEqual(sameUpTo(straightChunks.map((chunk) => ({ ...chunk, model: 'thinker' }))));
    const kinds = chunks.flatMap((chunk) => {
      const delta = chunk.choices[0]?.delta as { content?: string; reasoning_content?: string } | undefined;
      return delta?.reasoning_content ? ['reasoning'] : delta?.content ? ['content'] : [];
    });
    expect(kinds).toEqual(['reasoning', 'reasoning', 'reasoning', 'content', 'content', 'content', 'content']);
    expect(chunks.at(-1)?.usage).toMatchObject({ completion_tokens: 7, prompt_tokens_details: { cached_tokens: 3 }, completion_tokens_details: { reasoning_tokens: 3 } });

    const whole = await both({ ...params, stream: false });
    expect(sameUpTo(whole.viaGateway)).toEqual(sameUpTo({ ...whole.straight, model: 'thinker' }));
    expect((whole.viaGateway.choices[0]?.message as { reasoning_content?: string }).reasoning_content).toBeTruthy();
  });
});
