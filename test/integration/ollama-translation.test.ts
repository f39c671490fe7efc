import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateTenantDocument } from '../../client/src/generated/graphql.ts';
import { adminClient, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { fakeImageTokens } from '../testkit/fake-chat-answer.ts';
import { fakePromptTokens, fakeTokens, startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';

// The OpenAI wire through the gateway to Ollama's native /api/chat, with the official SDK: the
// request is translated (tools, tool messages, data-URL images, response_format, seed and penalties)
// and the answer translated back (tool calls with JSON-string arguments and minted ids, thinking as
// reasoning_content); what Ollama cannot express is a 400 naming the field.

const weatherTool: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
};

describe('OpenAI chat wire translated to Ollama and back', () => {
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let client: OpenAI;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 4 } });
    gateway = await startTestApp({
      inference: {
        providers: [{ name: 'local', type: 'ollama', baseUrl: upstream.url }],
        models: [
          { name: 'llama', kind: 'chat', deployments: [{ provider: 'local', model: 'llama3.2', weight: 1 }] },
          { name: 'thinker', kind: 'chat', deployments: [{ provider: 'local', model: 'qwen3?reasoning=1', weight: 1 }] },
        ],
      },
    });
    const tenantId = (await adminClient(gateway.url).execute(CreateTenantDocument, { input: { name: 'Ollama Co', plan: 'enterprise' } })).createTenant.tenant.id;
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId }, maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  const received = () => upstream.requests.at(-1)?.body;

  it('translates a tool round trip both ways, whole and streamed', async () => {
    const question: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'developer', content: 'Use the tools.' },
      { role: 'user', content: 'Weather in Oslo?' },
    ];
    const call = await client.chat.completions.create({ model: 'llama', messages: question, tools: [weatherTool], seed: 3, presence_penalty: 0.5, frequency_penalty: 0.25, max_tokens: 50 });
    expect(received()).toEqual({
      model: 'llama3.2',
      messages: [
        { role: 'system', content: 'Use the tools.' },
        { role: 'user', content: 'Weather in Oslo?' },
      ],
      stream: false,
      tools: [weatherTool],
      options: { seed: 3, presence_penalty: 0.5, frequency_penalty: 0.25, num_predict: 50 },
    });
    const toolCall = call.choices[0]?.message.tool_calls?.[0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.choices[0]?.finish_reason).toBe('tool_calls');
    expect(toolCall.id).toMatch(/^call_/);
    expect(toolCall.function.name).toBe('get_weather');
    expect(JSON.parse(toolCall.function.arguments)).toEqual({ query: fakeTokens('Weather in Oslo?', 2).join('') });

    const withResult: OpenAI.ChatCompletionMessageParam[] = [
      ...question,
      { role: 'assistant', content: null, tool_calls: [toolCall] },
      { role: 'tool', tool_call_id: toolCall.id, content: 'four degrees' },
    ];
    const stream = await client.chat.completions.create({ model: 'llama', messages: withResult, tools: [weatherTool], stream: true });
    let text = '';
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(received()).toEqual({
      model: 'llama3.2',
      messages: [
        { role: 'system', content: 'Use the tools.' },
        { role: 'user', content: 'Weather in Oslo?' },
        { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: JSON.parse(toolCall.function.arguments) as unknown } }] },
        { role: 'tool', content: 'four degrees', tool_name: 'get_weather' },
      ],
      stream: true,
      tools: [weatherTool],
    });
    expect(text).toBe(fakeTokens('four degrees', 4).join(''));
    expect(finish).toBe('stop');

    const streamedCall = await client.chat.completions.create({ model: 'llama', messages: question, tools: [weatherTool], stream: true });
    const pieces: OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    for await (const chunk of streamedCall) {
      pieces.push(...(chunk.choices[0]?.delta.tool_calls ?? []));
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(pieces).toEqual([{ index: 0, id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'get_weather', arguments: toolCall.function.arguments } }]);
    expect(finish).toBe('tool_calls');
  });

  it('sends data-URL images as base64, keeps text parts apart and maps response_format to format', async () => {
    const base64 = Buffer.from('pixels').toString('base64');
    const schema = { type: 'object', properties: { answer: { type: 'string' } } };
    const answer = await client.chat.completions.create({
      model: 'llama',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Describe' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${base64}` } },
            { type: 'text', text: 'briefly' },
          ],
        },
      ],
      response_format: { type: 'json_schema', json_schema: { name: 'a', schema } },
    });
    expect(received()).toEqual({
      model: 'llama3.2',
      messages: [{ role: 'user', content: 'Describe\nbriefly', images: [base64] }],
      stream: false,
      format: schema,
    });
    expect(JSON.parse(answer.choices[0]?.message.content ?? '')).toHaveProperty('answer');
    expect(answer.usage?.prompt_tokens).toBe(fakePromptTokens(['Describe\nbriefly']) + fakeImageTokens);

    await client.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'json' }], response_format: { type: 'json_object' } });
    expect(received()).toMatchObject({ format: 'json' });
  });

  it("relays Ollama's thinking as reasoning_content", async () => {
    const whole = await client.chat.completions.create({ model: 'thinker', messages: [{ role: 'user', content: 'Think' }] });
    const message = whole.choices[0]?.message as { content: string; reasoning_content?: string };
    expect(message.reasoning_content).toBe(fakeTokens('think:Think', 3).join(''));
    expect(message.content).toBe(fakeTokens('Think', 4).join(''));

    const stream = await client.chat.completions.create({ model: 'thinker', messages: [{ role: 'user', content: 'Think' }], stream: true, stream_options: { include_usage: true } });
    let reasoning = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      reasoning += (chunk.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(reasoning).toBe(message.reasoning_content);
    expect(usage?.completion_tokens).toBe(7);
  });

  it('puts a text completion\'s sampling settings, seed and penalties in options', async () => {
    await client.completions.create({ model: 'llama', prompt: 'Once', max_tokens: 5, top_p: 0.5, stop: 'END', seed: 9, frequency_penalty: 0.5 });
    expect(received()).toEqual({ model: 'llama3.2', prompt: 'Once', stream: false, options: { num_predict: 5, top_p: 0.5, stop: ['END'], seed: 9, frequency_penalty: 0.5 } });
    const several = await client.completions.create({ model: 'llama', prompt: ['One', 'Two'] }).catch((e: unknown) => e);
    expect(several).toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('refuses what Ollama cannot express with a 400 naming the field', async () => {
    const messages = [{ role: 'user' as const, content: 'hi' }];
    const calls = upstream.requests.length;
    const remoteImage: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }];
    const cases: [Partial<OpenAI.ChatCompletionCreateParamsNonStreaming>, string][] = [
      [{ n: 2 }, 'n'],
      [{ logprobs: true }, 'logprobs'],
      [{ messages: remoteImage }, 'messages[0].content[0].image_url.url'],
    ];
    for (const [params, field] of cases) {
      const error = await client.chat.completions.create({ model: 'llama', messages, ...params }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      const body = (error as InstanceType<typeof OpenAI.BadRequestError>).error as { type: string; message: string };
      expect(body.type).toBe('invalid_request_error');
      expect(body.message.startsWith(`${field}:`)).toBe(true);
    }
    const streamed = await client.chat.completions.create({ model: 'llama', messages, n: 2, stream: true }).catch((e: unknown) => e);
    expect(streamed).toBeInstanceOf(OpenAI.BadRequestError);
    expect(upstream.requests.length).toBe(calls);
  });
});
