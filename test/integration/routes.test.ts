import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateTenantDocument, UpdateInferenceConfigDocument } from '../../client/src/generated/graphql.ts';
import { configSchema } from '../../src/config.ts';
import { adminClient, asAdmin, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';

// Routes: a requested name resolved per request by ordered rules (capability, context fit, plan,
// cost ceiling, default). The fake upstream records which model each request was sent as.

const tool: OpenAI.ChatCompletionTool = { type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } };
const price = (perMillion: string) => ({ inputPerMillion: perMillion, outputPerMillion: perMillion, currency: 'USD' });
// About 4 bytes a token: 8,000 bytes is some 2,000 prompt tokens, 24,000 some 6,000, 120,000 some 30,000.
const words = (bytes: number) => 'word '.repeat(bytes / 5);

describe('routes', () => {
  let upstream: FakeUpstream;
  let gateway: TestApp;
  const clients: Record<string, OpenAI> = {};
  const tenants: Record<string, string> = {};

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 2 } });
    const deployment = (model: string) => [{ provider: 'gpu-a', model, weight: 1 }];
    gateway = await startTestApp({
      inference: {
        providers: [{ name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl }],
        models: [
          { name: 'small', kind: 'chat', contextWindow: 1_000, capabilities: [], deployments: deployment('up-small'), price: price('0.10') },
          { name: 'mid', kind: 'chat', contextWindow: 4_000, capabilities: [], deployments: deployment('up-mid'), price: price('1.00') },
          { name: 'large', kind: 'chat', contextWindow: 20_000, capabilities: [], deployments: deployment('up-large'), price: price('3.00') },
          { name: 'tooly', kind: 'chat', contextWindow: 8_000, capabilities: ['tools'], deployments: deployment('up-tooly'), price: price('5.00') },
          { name: 'premium', kind: 'chat', contextWindow: 8_000, deployments: deployment('up-premium'), price: price('10.00') },
        ],
        routes: [
          {
            name: 'auto',
            rules: [
              { name: 'tools', when: { needs: ['tools'] }, models: ['tooly'], choose: 'first' },
              { name: 'enterprise', when: { plans: ['enterprise'] }, models: ['premium'], choose: 'first' },
              { name: 'budget', when: { plans: ['starter'] }, models: ['large', 'mid', 'small'], choose: 'cheapest', maxCost: '0.005' },
              { name: 'fit', when: {}, models: ['small', 'large'], choose: 'first' },
            ],
            default: 'small',
          },
          { name: 'tiered', rules: [{ name: 'enterprise', when: { plans: ['enterprise'] }, models: ['premium'], choose: 'first' }], default: 'mid' },
        ],
      },
    });
    const admin = adminClient(gateway.url);
    for (const plan of ['starter', 'pro', 'enterprise']) {
      tenants[plan] = (await admin.execute(CreateTenantDocument, { input: { name: `Routes ${plan}`, plan } })).createTenant.tenant.id;
      clients[plan] = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenants[plan]! }, maxRetries: 0 });
    }
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  const sentAs = () => (upstream.requests.at(-1)?.body as { model: string }).model;

  async function ask(plan: string, request: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> & { content?: string }) {
    const { content = 'hello', ...rest } = request;
    const { data, response } = await clients[plan]!.chat.completions
      .create({ model: 'auto', messages: [{ role: 'user', content }], ...rest })
      .withResponse();
    return { model: data.model, sentAs: sentAs(), route: response.headers.get('x-tollgate-route') };
  }

  it('sends a request that needs a capability to the rule for it, whatever the plan', async () => {
    for (const plan of ['starter', 'pro', 'enterprise']) {
      const answer = await ask(plan, { tools: [tool] });
      expect(answer).toEqual({ model: 'auto', sentAs: 'up-tooly', route: 'auto; rule=tools; model=tooly' });
    }
  });

  it("chooses by the tenant's plan", async () => {
    expect(await ask('enterprise', {})).toMatchObject({ sentAs: 'up-premium', route: 'auto; rule=enterprise; model=premium' });
    expect((await ask('pro', {})).route).toBe('auto; rule=fit; model=small');
  });

  it('goes to the next larger context window when the prompt and max_tokens do not fit', async () => {
    // ~2,000 prompt tokens: past small's 1,000, within large's 20,000.
    expect(await ask('pro', { content: words(8_000) })).toMatchObject({ sentAs: 'up-large', route: 'auto; rule=fit; model=large' });
    // A short prompt whose max_tokens alone overflows small's window.
    expect((await ask('pro', { max_tokens: 1_000 })).route).toBe('auto; rule=fit; model=large');
  });

  it('takes the cheapest model that fits under the cost ceiling, else the next rule', async () => {
    expect((await ask('starter', {})).route).toBe('auto; rule=budget; model=small');
    // ~2,000 tokens fit mid (cheaper than large) but not small.
    expect(await ask('starter', { content: words(8_000) })).toMatchObject({ sentAs: 'up-mid', route: 'auto; rule=budget; model=mid' });
    // ~6,000 tokens fit only large, whose ~0.019 USD passes the 0.005 ceiling: the next rule decides.
    expect((await ask('starter', { content: words(24_000) })).route).toBe('auto; rule=fit; model=large');
  });

  it('falls back to the default when no rule applies, streams included', async () => {
    const stream = await clients.pro!.chat.completions.create({ model: 'tiered', messages: [{ role: 'user', content: 'hi' }], stream: true }).withResponse();
    for await (const _chunk of stream.data) void _chunk;
    expect(stream.response.headers.get('x-tollgate-route')).toBe('tiered; rule=default; model=mid');
    expect(sentAs()).toBe('up-mid');
  });

  it('refuses with a 400 naming the unmet need, before any upstream call', async () => {
    const calls = upstream.requests.length;
    const image: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }];
    const vision = await clients.pro!.chat.completions.create({ model: 'auto', messages: image }).catch((e: unknown) => e);
    expect(vision).toBeInstanceOf(OpenAI.BadRequestError);
    const visionBody = (vision as InstanceType<typeof OpenAI.BadRequestError>).error as { message: string; param: string };
    expect(visionBody.message).toContain('"vision"');
    expect(visionBody.param).toBe('messages[0].content');

    const huge = await clients.pro!.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: words(120_000) }] }).catch((e: unknown) => e);
    expect(huge).toBeInstanceOf(OpenAI.BadRequestError);
    expect((huge as InstanceType<typeof OpenAI.BadRequestError>).message).toMatch(/context window.*largest window 20000/);
    expect(upstream.requests.length).toBe(calls);
  });

  it("lets a tenant send a name to another route through its inference config", async () => {
    const tenantId = (await adminClient(gateway.url).execute(CreateTenantDocument, { input: { name: 'Routes override', plan: 'pro' } })).createTenant.tenant.id;
    await adminClient(gateway.url).execute(UpdateInferenceConfigDocument, { input: { tenantId, modelOverrides: [{ model: 'auto', target: 'tiered' }] } });
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId }, maxRetries: 0 });
    const { data, response } = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(data.model).toBe('auto');
    expect(response.headers.get('x-tollgate-route')).toBe('tiered; rule=default; model=mid');
    expect(sentAs()).toBe('up-mid');
  });

  it('records the decision on the usage event', async () => {
    const requestId = 'route-event-1';
    await clients.enterprise!.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-request-id': requestId } });
    let event: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && !event; i++) {
      const result = await graphqlRequest<{ tenant: { usageEvents: { edges: { node: Record<string, unknown> }[] } } }>(
        gateway.url,
        `query($id: ID!) { tenant(id: $id) { usageEvents(first: 20) { edges { node { requestId requestedModel servedModel route routeRule } } } } }`,
        { id: tenants.enterprise },
        asAdmin(),
      );
      event = result.data?.tenant.usageEvents.edges.map((edge) => edge.node).find((node) => node.requestId === requestId);
      if (!event) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(event).toEqual({ requestId, requestedModel: 'auto', servedModel: 'premium', route: 'auto', routeRule: 'enterprise' });
  });

  it('names a route that points at an unknown model, or shadows a model, in the configuration', () => {
    const parsed = configSchema.safeParse({
      inference: {
        providers: [{ name: 'p', type: 'openai', baseUrl: 'http://127.0.0.1:1/v1' }],
        models: [{ name: 'm', deployments: [{ provider: 'p', model: 'x' }] }],
        routes: [
          { name: 'm', default: 'm' },
          { name: 'r', rules: [{ name: 'a', models: ['nope'] }], default: 'm' },
        ],
      },
    });
    expect(parsed.success).toBe(false);
    const problems = parsed.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    expect(problems).toEqual(
      expect.arrayContaining([expect.stringMatching(/^inference\.routes\.0\.name: "m" is already a model name/), expect.stringMatching(/^inference\.routes\.1\.rules\.0\.models\.0: unknown model "nope"/)]),
    );
  });
});
