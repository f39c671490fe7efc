import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateTenantDocument } from '../../client/src/generated/graphql.ts';
import { adminClient, asAdmin, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';

// /v1/responses passed through to upstreams that serve the Responses API (`responses: true`), with the
// official SDK: the upstream gets the request as the client sent it (model aside), the client gets the
// upstream's answer and events as they came (model aside), and the usage block is metered once. Models
// with a deployment that does not serve the API are translated, and refuse what needs stored responses.

const weather = { type: 'function' as const, name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false };
const upstreamModel = 'upstream-agent?reasoning=1&cached-tokens=2';

/** Ids the fake numbers per request differ between two otherwise equal answers. */
const sameUpTo = (value: unknown): unknown => JSON.parse(JSON.stringify(value).replace(/(resp|msg|fc|rs|call)_fake_\d+/g, '$1_fake_N'));

interface EventRow {
  requestId: string;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  tokensEstimated: boolean;
}

describe('/v1/responses passed through', () => {
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let client: OpenAI;
  let direct: OpenAI;
  let tenantId: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 3 } });
    gateway = await startTestApp({
      inference: {
        providers: [
          { name: 'vllm', type: 'openai', baseUrl: upstream.openaiBaseUrl, responses: true },
          { name: 'plain', type: 'openai', baseUrl: upstream.openaiBaseUrl },
          { name: 'ollama', type: 'ollama', baseUrl: upstream.url, responses: true },
        ],
        models: [
          { name: 'agent', kind: 'chat', deployments: [{ provider: 'vllm', model: upstreamModel, weight: 1 }] },
          { name: 'local-agent', kind: 'chat', deployments: [{ provider: 'ollama', model: 'llama', weight: 1 }] },
          { name: 'vision-less', kind: 'chat', capabilities: ['tools'], deployments: [{ provider: 'vllm', model: upstreamModel, weight: 1 }] },
          // One deployment without the API: the model's requests are translated to Chat Completions.
          { name: 'mixed', kind: 'chat', deployments: [{ provider: 'vllm', model: 'a', weight: 1 }, { provider: 'plain', model: 'b', weight: 1 }] },
        ],
      },
    });
    tenantId = (await adminClient(gateway.url).execute(CreateTenantDocument, { input: { name: 'Native Responses Co', plan: 'enterprise' } })).createTenant.tenant.id;
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId }, maxRetries: 0 });
    direct = new OpenAI({ baseURL: upstream.openaiBaseUrl, apiKey: 'direct', maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  const received = () => upstream.requests.at(-1)!;

  async function events(): Promise<EventRow[]> {
    const result = await graphqlRequest<{ tenant: { usageEvents: { edges: { node: EventRow }[] } } }>(
      gateway.url,
      `query($id: ID!) { tenant(id: $id) { usageEvents(first: 50) { edges { node {
        requestId promptTokens completionTokens totalTokens cachedTokens reasoningTokens tokensEstimated } } } } }`,
      { id: tenantId },
      asAdmin(),
    );
    expect(result.errors).toBeUndefined();
    return result.data!.tenant.usageEvents.edges.map((edge) => edge.node);
  }

  async function recorded(requestId: string): Promise<EventRow> {
    await expect.poll(async () => (await events()).filter((event) => event.requestId === requestId), { timeout: 5_000 }).toHaveLength(1);
    return (await events()).find((event) => event.requestId === requestId)!;
  }

  const fromUsage = (usage: OpenAI.Responses.ResponseUsage) => ({
    promptTokens: usage.input_tokens,
    completionTokens: usage.output_tokens,
    totalTokens: usage.total_tokens,
    cachedTokens: usage.input_tokens_details.cached_tokens,
    reasoningTokens: usage.output_tokens_details.reasoning_tokens,
    tokensEstimated: false,
  });

  it('forwards the request as it came and returns the upstream response, model as asked, metered once', async () => {
    const params: OpenAI.Responses.ResponseCreateParamsNonStreaming = {
      model: 'agent',
      instructions: 'Be brief.',
      input: [{ role: 'user', content: 'Weather in Oslo?' }],
      tools: [weather],
      reasoning: { effort: 'low' },
      previous_response_id: 'resp_earlier',
      store: true,
      metadata: { purpose: 'test' },
      max_output_tokens: 50,
      // A field the gateway does not know travels too.
      ...({ top_k: 20 } as object),
    };
    const viaGateway = await client.responses.create(params, { headers: { 'x-request-id': 'native-whole' } });
    expect(received().path).toBe('/v1/responses');
    expect(received().body).toEqual({ ...params, model: upstreamModel });
    const straight = await direct.responses.create({ ...params, model: upstreamModel });
    expect(sameUpTo(viaGateway)).toEqual(sameUpTo({ ...straight, model: 'agent' }));
    expect(viaGateway.previous_response_id).toBe('resp_earlier');
    expect(viaGateway.output.map((item) => item.type)).toEqual(['reasoning', 'function_call']);
    expect(viaGateway.usage).toMatchObject({ input_tokens_details: { cached_tokens: 2 } });
    expect(await recorded('native-whole')).toEqual({ requestId: 'native-whole', ...fromUsage(straight.usage!) });
  });

  it('relays the streamed events in order, model as asked, and meters the completed usage once', async () => {
    const params: OpenAI.Responses.ResponseCreateParamsStreaming = { model: 'agent', input: 'Stream please', tools: [weather], tool_choice: 'auto', stream: true };
    const viaGateway: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of await client.responses.create(params, { headers: { 'x-request-id': 'native-stream' } })) viaGateway.push(event);
    expect(received().body).toEqual({ ...params, model: upstreamModel });
    const straight: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of await direct.responses.create({ ...params, model: upstreamModel })) straight.push(event);
    const withAskedModel = straight.map((event) => ('response' in event ? { ...event, response: { ...event.response, model: 'agent' } } : event));
    expect(sameUpTo(viaGateway)).toEqual(sameUpTo(withAskedModel));
    const types = viaGateway.map((event) => event.type);
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(types.filter((type) => type === 'response.function_call_arguments.delta')).toHaveLength(3);
    expect(types.indexOf('response.reasoning_summary_text.delta')).toBeLessThan(types.indexOf('response.function_call_arguments.delta'));
    const completed = viaGateway.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
    expect(completed.response.model).toBe('agent');
    expect(await recorded('native-stream')).toEqual({ requestId: 'native-stream', ...fromUsage(completed.response.usage!) });

    const text: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of await client.responses.create({ model: 'agent', input: 'Plain text', stream: true })) text.push(event);
    expect(text.filter((event) => event.type === 'response.output_text.delta')).toHaveLength(3);
  });

  it("passes it to Ollama's OpenAI endpoint when its provider says it serves the API", async () => {
    const params: OpenAI.Responses.ResponseCreateParamsNonStreaming = { model: 'local-agent', input: 'Hello there', store: false };
    const viaGateway = await client.responses.create(params);
    expect(received().path).toBe('/v1/responses');
    expect(received().body).toEqual({ ...params, model: 'llama' });
    expect(viaGateway.model).toBe('local-agent');
    expect(viaGateway.output_text).toBeTruthy();
  });

  it('refuses a capability no deployment has before anything is spent, naming the field', async () => {
    const calls = upstream.requests.length;
    const error = await client.responses
      .create({ model: 'vision-less', input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'https://example.com/a.png', detail: 'auto' }] }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ param: 'input[0].content' });
    expect(upstream.requests.length).toBe(calls);
  });

  it('translates for a model with a deployment that does not serve the API, refusing stored state by name', async () => {
    for (const [field, params] of [
      ['previous_response_id', { previous_response_id: 'resp_1' }],
      ['store', { store: true }],
    ] as const) {
      const error = await client.responses.create({ model: 'mixed', input: 'hi', ...params }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ param: field, type: 'invalid_request_error' });
      expect((error as Error).message).toContain(field);
    }
    const answer = await client.responses.create({ model: 'mixed', input: 'hi' });
    expect(received().path).toBe('/v1/chat/completions');
    expect(answer.model).toBe('mixed');
  });
});
