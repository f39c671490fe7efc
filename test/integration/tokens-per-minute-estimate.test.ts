import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateTenantDocument } from '../../client/src/generated/graphql.ts';
import { adminClient, asAdmin, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';

// What a chat request reserves against a tokens-per-minute limit counts the whole request: tool schemas
// by size, each image part, and the reply budget of each of n choices. The same request without them
// fits the limit, so a refusal can only come from what they add.

const limit = 2_000;
const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is the weather like?' }];
/** A tool whose schema is about 12 KB: some 3,000 tokens by size. */
const largeTool: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'lookup',
    description: 'Look things up. '.repeat(750),
    parameters: { type: 'object', properties: { query: { type: 'string' } } },
  },
};

describe('the tokens-per-minute reservation', () => {
  let upstream: FakeUpstream;
  let gateway: TestApp;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 2 } });
    gateway = await startTestApp({
      inference: {
        providers: [{ name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl }],
        models: [{ name: 'chat-model', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'upstream', weight: 1 }] }],
      },
    });
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  /** A tenant of its own with the limit, so one case's spending never decides another's. */
  async function limitedClient(name: string): Promise<OpenAI> {
    const tenantId = (await adminClient(gateway.url).execute(CreateTenantDocument, { input: { name, plan: 'enterprise' } })).createTenant.tenant.id;
    const set = await graphqlRequest(
      gateway.url,
      'mutation($t: ID!, $l: RateLimitsInput!) { setTenantLimits(tenantId: $t, limits: $l) { tenant { id } } }',
      { t: tenantId, l: { tokensPerMinute: limit } },
      asAdmin(),
    );
    expect(set.errors).toBeUndefined();
    return new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId }, maxRetries: 0 });
  }

  async function refusedThenServed(name: string, heavy: OpenAI.ChatCompletionCreateParamsNonStreaming, light: OpenAI.ChatCompletionCreateParamsNonStreaming): Promise<void> {
    const client = await limitedClient(name);
    const calls = upstream.requests.length;
    const refusal = await client.chat.completions.create(heavy).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(OpenAI.RateLimitError);
    expect((refusal as Error).message).toMatch(/tokens per minute/);
    expect(upstream.requests.length).toBe(calls);
    const served = await client.chat.completions.create(light);
    expect(served.choices[0]?.message).toBeTruthy();
  }

  it('counts tool schemas by size', async () => {
    const request = { model: 'chat-model', messages, max_tokens: 100 };
    await refusedThenServed('Tools Co', { ...request, tools: [largeTool] }, request);
  });

  it('counts each image part', async () => {
    const image = (url: string): OpenAI.ChatCompletionContentPart => ({ type: 'image_url', image_url: { url } });
    const request = { model: 'chat-model', max_tokens: 100 };
    await refusedThenServed(
      'Images Co',
      { ...request, messages: [{ role: 'user', content: [{ type: 'text', text: 'Compare these' }, image('https://example.com/a.png'), image('https://example.com/b.png')] }] },
      { ...request, messages: [{ role: 'user', content: [{ type: 'text', text: 'Compare these' }] }] },
    );
  });

  it('counts the reply budget of each of n choices', async () => {
    const request = { model: 'chat-model', messages, max_tokens: 500 };
    await refusedThenServed('Choices Co', { ...request, n: 5 }, request);
  });
});
