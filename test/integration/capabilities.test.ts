import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateTenantDocument } from '../../client/src/generated/graphql.ts';
import { configSchema } from '../../src/config.ts';
import { adminClient, asAdmin, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';

// Capabilities in the inference config: a request that needs one (tools, images, a response format,
// reasoning) goes only to deployments that have it, and is refused with a 400 naming it when none has.

const tool: OpenAI.ChatCompletionTool = { type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } };

describe('deployment capabilities', () => {
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let client: OpenAI;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 2 } });
    gateway = await startTestApp({
      inference: {
        providers: [{ name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl }],
        routing: { strategy: 'round-robin' } as never,
        models: [
          {
            name: 'mixed',
            kind: 'chat',
            capabilities: ['structured_output'],
            deployments: [
              { provider: 'gpu-a', model: 'plain', weight: 1 },
              { provider: 'gpu-a', model: 'agentic', weight: 1, capabilities: ['tools', 'reasoning'] },
            ],
          },
          // No list: every capability, as before capabilities existed.
          { name: 'open', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'open', weight: 1 }] },
        ],
      },
    });
    const tenantId = (await adminClient(gateway.url).execute(CreateTenantDocument, { input: { name: 'Caps Co', plan: 'enterprise' } })).createTenant.tenant.id;
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId }, maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'hello' }];
  const servedBy = () => (upstream.requests.at(-1)?.body as { model: string }).model;

  it('sends a request that needs a capability only to the deployments that have it', async () => {
    const served = new Set<string>();
    for (let i = 0; i < 6; i++) {
      await client.chat.completions.create({ model: 'mixed', messages, tools: [tool] });
      served.add(servedBy());
      const stream = await client.chat.completions.create({ model: 'mixed', messages, reasoning_effort: 'low', stream: true });
      for await (const _chunk of stream) void _chunk;
      served.add(servedBy());
    }
    expect([...served]).toEqual(['agentic']);

    // A deployment's own list replaces the model's: "agentic" does not have structured_output.
    const structured = new Set<string>();
    const anything = new Set<string>();
    for (let i = 0; i < 4; i++) {
      await client.chat.completions.create({ model: 'mixed', messages, response_format: { type: 'json_object' } });
      structured.add(servedBy());
    }
    for (let i = 0; i < 4; i++) {
      await client.chat.completions.create({ model: 'mixed', messages });
      anything.add(servedBy());
    }
    expect([...structured]).toEqual(['plain']);
    expect([...anything].sort()).toEqual(['agentic', 'plain']);
  });

  it('refuses a request that needs a capability no deployment has, naming it and the field', async () => {
    const calls = upstream.requests.length;
    const image: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }];
    const error = await client.chat.completions.create({ model: 'mixed', messages: image }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const body = (error as InstanceType<typeof OpenAI.BadRequestError>).error as { message: string; param: string };
    expect(body.message).toContain('"vision"');
    expect(body.param).toBe('messages[0].content');

    const both = await client.chat.completions.create({ model: 'mixed', messages, tools: [tool], response_format: { type: 'json_object' }, reasoning_effort: 'low' }).catch((e: unknown) => e);
    expect(both).toBeInstanceOf(OpenAI.BadRequestError);
    expect(upstream.requests.length).toBe(calls);

    await client.chat.completions.create({ model: 'open', messages: image });
    expect(servedBy()).toBe('open');
  });

  it('refuses before admission: refused requests use up none of a one-request-a-minute limit', async () => {
    const tenantId = (await adminClient(gateway.url).execute(CreateTenantDocument, { input: { name: 'Caps Limited Co', plan: 'pro' } })).createTenant.tenant.id;
    const limited = await graphqlRequest(
      gateway.url,
      'mutation($t: ID!) { setTenantLimits(tenantId: $t, limits: { requestsPerMinute: 1 }) { tenant { id } } }',
      { t: tenantId },
      asAdmin(),
    );
    expect(limited.errors).toBeUndefined();
    const tenantClient = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId }, maxRetries: 0 });
    const image: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }];
    for (let i = 0; i < 3; i++) {
      const whole = await tenantClient.chat.completions.create({ model: 'mixed', messages: image }).catch((e: unknown) => e);
      expect(whole).toBeInstanceOf(OpenAI.BadRequestError);
      const streamed = await tenantClient.chat.completions.create({ model: 'mixed', messages: image, stream: true }).catch((e: unknown) => e);
      expect(streamed).toBeInstanceOf(OpenAI.BadRequestError);
      expect((streamed as InstanceType<typeof OpenAI.BadRequestError>).message).toContain('"vision"');
    }
    const served = await tenantClient.chat.completions.create({ model: 'mixed', messages }).withResponse();
    expect(served.response.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    const next = await tenantClient.chat.completions.create({ model: 'mixed', messages }).catch((e: unknown) => e);
    expect(next).toBeInstanceOf(OpenAI.RateLimitError);
  });

  it('names an unknown capability in the configuration', () => {
    const parsed = configSchema.safeParse({ inference: { providers: [], models: [{ name: 'm', capabilities: ['telepathy'], deployments: [{ provider: 'p', model: 'x' }] }] } });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues.map((issue) => issue.path))).toContain('capabilities');
  });
});
