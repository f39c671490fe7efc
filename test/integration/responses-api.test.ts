import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateTenantDocument } from '../../client/src/generated/graphql.ts';
import { adminClient, asAdmin, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { fakeTokens, startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';

// The Responses API with the official SDK, served through Chat Completions: text, tools and images,
// whole and streamed, to an OpenAI-compatible upstream and to Ollama, metered once per request.

const weather = { type: 'function' as const, name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false };

describe('/v1/responses through Chat Completions', () => {
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let client: OpenAI;
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
          { name: 'agent', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'upstream-agent?cached-tokens=1', weight: 1 }] },
          { name: 'local', kind: 'chat', deployments: [{ provider: 'local', model: 'llama', weight: 1 }] },
        ],
      },
    });
    tenantId = (await adminClient(gateway.url).execute(CreateTenantDocument, { input: { name: 'Responses Co', plan: 'enterprise' } })).createTenant.tenant.id;
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId }, maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  const received = () => upstream.requests.at(-1)?.body as Record<string, unknown>;

  it('answers text with instructions, and a tool round trip, as Responses objects', async () => {
    const text = await client.responses.create({ model: 'agent', instructions: 'Be brief.', input: 'Say hi', max_output_tokens: 20 }, { headers: { 'x-request-id': 'resp-text' } });
    expect(received()).toEqual({ model: 'upstream-agent?cached-tokens=1', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hi' }], max_completion_tokens: 20 });
    expect(text.object).toBe('response');
    expect(text.status).toBe('completed');
    expect(text.model).toBe('agent');
    expect(text.output_text).toBe(fakeTokens('Say hi', 3).join(''));
    expect(text.usage).toMatchObject({ output_tokens: 3, input_tokens_details: { cached_tokens: 1 } });

    const call = await client.responses.create({ model: 'agent', input: [{ role: 'user', content: 'Weather in Oslo?' }], tools: [weather] });
    expect(received().tools).toEqual([{ type: 'function', function: { name: 'get_weather', description: 'Weather in a city', parameters: weather.parameters, strict: false } }]);
    const fn = call.output.find((item) => item.type === 'function_call');
    expect(fn).toMatchObject({ type: 'function_call', name: 'get_weather', call_id: expect.stringMatching(/^call_fake/) });
    expect(JSON.parse((fn as { arguments: string }).arguments)).toEqual({ query: fakeTokens('Weather in Oslo?', 2).join('') });

    const answer = await client.responses.create({
      model: 'agent',
      tools: [weather],
      input: [
        { role: 'user', content: 'Weather in Oslo?' },
        { type: 'function_call', call_id: (fn as { call_id: string }).call_id, name: 'get_weather', arguments: (fn as { arguments: string }).arguments },
        { type: 'function_call_output', call_id: (fn as { call_id: string }).call_id, output: 'four degrees' },
      ],
    });
    expect((received().messages as unknown[]).slice(1)).toEqual([
      { role: 'assistant', content: null, tool_calls: [{ id: (fn as { call_id: string }).call_id, type: 'function', function: { name: 'get_weather', arguments: (fn as { arguments: string }).arguments } }] },
      { role: 'tool', tool_call_id: (fn as { call_id: string }).call_id, content: 'four degrees' },
    ]);
    expect(answer.output_text).toBe(fakeTokens('four degrees', 3).join(''));
  });

  it('streams text and tool call events in order, ending with the usage in response.completed', async () => {
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of await client.responses.create({ model: 'agent', input: 'Stream please', stream: true }, { headers: { 'x-request-id': 'resp-stream' } })) events.push(event);
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const completed = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
    expect(completed.response.output_text ?? (completed.response.output[0] as { content: { text: string }[] }).content[0]!.text).toBe(fakeTokens('Stream please', 3).join(''));
    expect(completed.response.usage?.output_tokens).toBe(3);

    const toolEvents: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of await client.responses.create({ model: 'agent', input: 'Weather in Lima?', tools: [weather], stream: true })) toolEvents.push(event);
    const deltas = toolEvents.filter((e) => e.type === 'response.function_call_arguments.delta').map((e) => (e as { delta: string }).delta);
    expect(deltas).toHaveLength(3);
    const done = toolEvents.find((e) => e.type === 'response.function_call_arguments.done') as { arguments: string };
    expect(done.arguments).toBe(deltas.join(''));
    expect(JSON.parse(done.arguments)).toEqual({ query: fakeTokens('Weather in Lima?', 2).join('') });
  });

  it('sends input images to Ollama as base64, and meters each request once', async () => {
    const base64 = Buffer.from('pixels').toString('base64');
    await client.responses.create({
      model: 'local',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'What is this?' }, { type: 'input_image', image_url: `data:image/png;base64,${base64}`, detail: 'auto' }] }],
    });
    expect(received().messages).toEqual([{ role: 'user', content: 'What is this?', images: [base64] }]);

    const query = `query($id: ID!) { tenant(id: $id) { usageEvents(first: 50) { edges { node { requestId completionTokens cachedTokens } } } } }`;
    const events = async () => (await graphqlRequest<{ tenant: { usageEvents: { edges: { node: { requestId: string; completionTokens: number; cachedTokens: number } }[] } } }>(gateway.url, query, { id: tenantId }, asAdmin())).data!.tenant.usageEvents.edges.map((e) => e.node);
    await expect.poll(async () => (await events()).filter((e) => e.requestId.startsWith('resp-')).length, { timeout: 5_000 }).toBe(2);
    expect((await events()).filter((e) => e.requestId.startsWith('resp-')).sort((a, b) => a.requestId.localeCompare(b.requestId))).toEqual([
      { requestId: 'resp-stream', completionTokens: 3, cachedTokens: 1 },
      { requestId: 'resp-text', completionTokens: 3, cachedTokens: 1 },
    ]);
  });

  it('refuses previous_response_id with a 400 naming it', async () => {
    const error = await client.responses.create({ model: 'agent', input: 'more', previous_response_id: 'resp_123' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ param: 'previous_response_id', type: 'invalid_request_error' });
  });
});
