import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTollgateClient, type TollgateClient } from '../../client/src/client.ts';
import { CreateChatCompletionDocument, CreateTenantDocument, type ChatCompletionInput } from '../../client/src/generated/graphql.ts';
import { adminClient, asAdmin, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { fakeTokens, startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';

// Tools, content parts and reasoning through GraphQL with the typed client: the mutation over HTTP
// and streamCompletion over graphql-ws, to an OpenAI-compatible upstream and to Ollama.

const weatherTool = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };

describe('GraphQL chat completions with tools, parts and reasoning', () => {
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let client: TollgateClient;
  let tenantId: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 3 } });
    gateway = await startTestApp({
      inference: {
        providers: [
          { name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl },
          { name: 'local', type: 'ollama', baseUrl: upstream.url },
        ],
        models: [
          { name: 'agent', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'upstream-agent', weight: 1 }] },
          { name: 'thinker', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'upstream-think?reasoning=1', weight: 1 }] },
          { name: 'vision', kind: 'chat', deployments: [{ provider: 'local', model: 'llava', weight: 1 }] },
        ],
      },
    });
    tenantId = (await adminClient(gateway.url).execute(CreateTenantDocument, { input: { name: 'Agents Co', plan: 'enterprise' } })).createTenant.tenant.id;
    client = createTollgateClient({ url: gateway.url, apiKey: testAdminKey, tenantId, webSocketImpl: WebSocket });
  });
  afterAll(async () => {
    await client?.close();
    await gateway?.stop();
    await upstream?.close();
  });

  const received = () => upstream.requests.at(-1)?.body as Record<string, unknown>;

  it('makes a tool round trip with createChatCompletion', async () => {
    const question: ChatCompletionInput = {
      model: 'agent',
      messages: [{ role: 'user', content: 'Weather in Oslo?' }],
      tools: [weatherTool],
      toolChoice: 'auto',
      responseFormat: { type: 'json_object' },
    };
    const { createChatCompletion: call } = await client.execute(CreateChatCompletionDocument, { input: question });
    expect(received()).toMatchObject({ messages: [{ role: 'user', content: 'Weather in Oslo?' }], tools: [weatherTool], tool_choice: 'auto', response_format: { type: 'json_object' } });
    expect(call.finishReason).toBe('tool_calls');
    const toolCall = call.toolCalls?.[0];
    expect(toolCall).toMatchObject({ index: 0, id: expect.stringMatching(/^call_fake/), type: 'function', function: { name: 'get_weather' } });
    expect(JSON.parse(toolCall!.function!.arguments!)).toEqual({ query: fakeTokens('Weather in Oslo?', 2).join('') });

    const { createChatCompletion: answer } = await client.execute(CreateChatCompletionDocument, {
      input: {
        model: 'agent',
        tools: [weatherTool],
        messages: [
          ...question.messages,
          { role: 'assistant', toolCalls: [{ id: toolCall!.id!, type: 'function', function: { name: 'get_weather', arguments: toolCall!.function!.arguments! } }] },
          { role: 'tool', toolCallId: toolCall!.id!, content: 'four degrees' },
        ],
      },
    });
    expect(received().messages).toEqual([
      { role: 'user', content: 'Weather in Oslo?' },
      { role: 'assistant', content: null, tool_calls: [{ id: toolCall!.id, type: 'function', function: { name: 'get_weather', arguments: toolCall!.function!.arguments } }] },
      { role: 'tool', content: 'four degrees', tool_call_id: toolCall!.id },
    ]);
    expect(answer.content).toBe(fakeTokens('four degrees', 3).join(''));
    expect(answer.toolCalls).toBeNull();
  });

  it('streams tool call pieces and reasoning over graphql-ws with streamCompletion', async () => {
    const pieces: { index: number; id?: string | null; function?: { name?: string | null; arguments?: string | null } | null }[] = [];
    let finishReason: string | null | undefined;
    for await (const chunk of client.streamCompletion({ model: 'agent', messages: [{ role: 'user', content: 'Weather in Lima?' }], tools: [weatherTool] })) {
      pieces.push(...(chunk.toolCalls ?? []));
      finishReason = chunk.finishReason ?? finishReason;
    }
    expect(pieces[0]).toMatchObject({ index: 0, id: expect.stringMatching(/^call_fake/), function: { name: 'get_weather', arguments: '' } });
    expect(pieces).toHaveLength(4);
    expect(JSON.parse(pieces.map((piece) => piece.function?.arguments ?? '').join(''))).toEqual({ query: fakeTokens('Weather in Lima?', 2).join('') });
    expect(finishReason).toBe('tool_calls');

    let reasoning = '';
    let text = '';
    // A client of its own: one client's second stream right after its first can see the first socket's lazy close.
    const second = createTollgateClient({ url: gateway.url, apiKey: testAdminKey, tenantId, webSocketImpl: WebSocket });
    try {
      for await (const chunk of second.streamCompletion({ model: 'thinker', messages: [{ role: 'user', content: 'Think' }] })) {
        reasoning += chunk.reasoning ?? '';
        text += chunk.delta;
      }
    } finally {
      await second.close();
    }
    expect(reasoning).toBe(fakeTokens('think:Think', 3).join(''));
    expect(text).toBe(fakeTokens('Think', 3).join(''));
    const { createChatCompletion: whole } = await client.execute(CreateChatCompletionDocument, { input: { model: 'thinker', messages: [{ role: 'user', content: 'Think' }] } });
    expect(whole.reasoning).toBe(reasoning);
  });

  it('sends content parts with an image to Ollama as images', async () => {
    // As large as a real photo's data URL and a pasted document: neither is a name to be kept short.
    const base64 = Buffer.alloc(48 * 1024, 7).toString('base64');
    const question = `What is this?\n${'Some context line.\n'.repeat(200)}`;
    await client.execute(CreateChatCompletionDocument, {
      input: {
        model: 'vision',
        messages: [{ role: 'user', parts: [{ type: 'text', text: question }, { type: 'image_url', imageUrl: { url: `data:image/png;base64,${base64}` } }] }],
      },
    });
    expect(received().messages).toEqual([{ role: 'user', content: question, images: [base64] }]);
  });

  it('names what is wrong with a message', async () => {
    const mutation = 'mutation($input: ChatCompletionInput!) { createChatCompletion(input: $input) { id } }';
    for (const [message, field] of [
      [{ role: 'user' }, 'messages.0.content'],
      [{ role: 'user', content: 'x', parts: [{ type: 'text', text: 'y' }] }, 'messages.0.parts'],
      [{ role: 'tool', content: 'x' }, 'messages.0.toolCallId'],
      [{ role: 'user', parts: [{ type: 'image_url' }] }, 'messages[0].parts[0].imageUrl'],
    ] as const) {
      const result = await graphqlRequest(gateway.url, mutation, { input: { model: 'agent', messages: [message] } }, asAdmin(tenantId));
      expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(JSON.stringify(result.errors?.[0])).toContain(field);
    }
  });
});
