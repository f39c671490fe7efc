import { createClient, type Client } from 'graphql-ws';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PromptTemplatesDocument } from '../../client/src/generated/graphql.ts';
import { adminClient, asAdmin, bearer, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { fakeTokens, startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';

// Prompt templates through their real surfaces: GraphQL to define them, the official openai client on
// POST /v1/templates/{name}/run, graphql-ws for streamed runs. The fake upstream records what it was
// asked, so the rendered messages and the template's parameters are checked where they arrive.

const SAVE = `mutation($input: SavePromptTemplateInput!) { savePromptTemplate(input: $input) { template { id tenantId name version variables model parameters } } }`;
const RUN = `mutation($input: RunPromptTemplateInput!) { runPromptTemplate(input: $input) { content finishReason usage { promptTokens completionTokens totalTokens } } }`;

interface SavedTemplate {
  id: string;
  tenantId: string | null;
  name: string;
  version: number;
  variables: string[];
  model: string;
  parameters: Record<string, unknown>;
}

describe('prompt templates', () => {
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let tenantA: string;
  let tenantB: string;
  let tenantKeyA: string;
  let tenantKeyB: string;

  const gql = async <T,>(query: string, variables: Record<string, unknown>, headers: Record<string, string>) => graphqlRequest<T>(gateway.url, query, variables, headers);
  const save = async (input: Record<string, unknown>, headers = asAdmin()) => {
    const result = await gql<{ savePromptTemplate: { template: SavedTemplate } }>(SAVE, { input }, headers);
    expect(result.errors).toBeUndefined();
    return result.data!.savePromptTemplate.template;
  };
  const openai = (tenantId: string) => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId }, maxRetries: 0 });
  const lastChatBody = () => upstream.requests.filter((r) => r.path.endsWith('/chat/completions')).at(-1)!.body as Record<string, unknown>;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 6 } });
    gateway = await startTestApp({
      inference: {
        providers: [{ name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl }],
        models: [
          { name: 'chat-model', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'upstream-chat', weight: 1 }] },
          { name: 'small-model', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'upstream-small', weight: 1 }] },
        ],
      },
    });
    const create = async (name: string) =>
      (await gql<{ createTenant: { tenant: { id: string } } }>('mutation($n: String!) { createTenant(input: { name: $n, plan: "pro" }) { tenant { id } } }', { n: name }, asAdmin()))
        .data!.createTenant.tenant.id;
    tenantA = await create('Templates A');
    tenantB = await create('Templates B');
    const createKey = async (tenantId: string) => {
      const key = await gql<{ createApiKey: { secret: string } }>('mutation($t: ID!) { createApiKey(input: { tenantId: $t, name: "app" }) { secret } }', { t: tenantId }, asAdmin());
      gateway.secrets.add(key.data!.createApiKey.secret);
      return key.data!.createApiKey.secret;
    };
    tenantKeyA = await createKey(tenantA);
    tenantKeyB = await createKey(tenantB);

    // The platform's template, offered to every tenant, then edited: the edit is version 2.
    await save({ name: 'summarise', system: 'You summarise {{ style }} text.', user: 'Summarise: {{text}}', model: 'chat-model', parameters: { temperature: 0.2, max_tokens: 40 } });
    await save({ name: 'summarise', system: 'You summarise {{style}} text in {{language}}.', user: 'Summarise: {{text}}', model: 'chat-model', parameters: { temperature: 0.3, max_tokens: 50, seed: 9 } });
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  it('versions a template on every save and lists the latest with the variables it uses', async () => {
    const listed = await gql<{ promptTemplates: SavedTemplate[] }>('query { promptTemplates { name version variables tenantId } }', {}, asAdmin(tenantA));
    expect(listed.data!.promptTemplates).toEqual([{ name: 'summarise', version: 2, variables: ['style', 'language', 'text'], tenantId: null }]);
    // The typed client's operations ask the same.
    const typed = await adminClient(gateway.url, tenantA).execute(PromptTemplatesDocument, { tenantId: tenantA });
    expect(typed.promptTemplates.map((t) => [t.name, t.version, t.model])).toEqual([['summarise', 2, 'chat-model']]);
    const versions = await gql<{ promptTemplate: { version: number; versions: { version: number; parameters: unknown }[] } }>(
      'query { promptTemplate(name: "summarise") { version versions { version parameters } } }',
      {},
      asAdmin(),
    );
    expect(versions.data!.promptTemplate).toEqual({
      version: 2,
      versions: [
        { version: 2, parameters: { temperature: 0.3, max_tokens: 50, seed: 9 } },
        { version: 1, parameters: { temperature: 0.2, max_tokens: 40 } },
      ],
    });
  });

  it('runs on /v1 with the official client: rendered messages and parameters go upstream, usage is tagged', async () => {
    const completion = await openai(tenantA).post<OpenAI.ChatCompletion>('/templates/summarise/run', {
      body: { variables: { style: 'legal', language: 'French', text: 'the contract ends in May' } },
      headers: { 'x-request-id': 'template-run-v1' },
    });
    const user = 'Summarise: the contract ends in May';
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('chat-model');
    expect(completion.choices[0]?.message.content).toBe(fakeTokens(user, 6).join(''));
    expect(lastChatBody()).toMatchObject({
      model: 'upstream-chat',
      temperature: 0.3,
      max_tokens: 50,
      seed: 9,
      messages: [
        { role: 'system', content: 'You summarise legal text in French.' },
        { role: 'user', content: user },
      ],
    });

    // A pinned version renders that version.
    await openai(tenantA).post('/templates/summarise/run', { body: { version: 1, variables: { style: 'plain', text: 'short' } } });
    expect(lastChatBody()).toMatchObject({ temperature: 0.2, max_tokens: 40, messages: [{ role: 'system', content: 'You summarise plain text.' }, { role: 'user', content: 'Summarise: short' }] });

    await gateway.app.deps.usageMeter.flush();
    const events = await gql<{ tenant: { usageEvents: { edges: { node: { requestId: string; templateName: string | null; templateVersion: number | null; totalTokens: number } }[] } } }>(
      'query($id: ID!) { tenant(id: $id) { usageEvents(first: 10) { edges { node { requestId templateName templateVersion totalTokens } } } } }',
      { id: tenantA },
      asAdmin(),
    );
    const nodes = events.data!.tenant.usageEvents.edges.map((edge) => edge.node);
    expect(nodes.find((node) => node.requestId === 'template-run-v1')).toEqual({
      requestId: 'template-run-v1',
      templateName: 'summarise',
      templateVersion: 2,
      totalTokens: completion.usage!.total_tokens,
    });
    expect(nodes.map((node) => node.templateVersion)).toContain(1);
  });

  it('refuses missing and unknown variables with a 400 naming each', async () => {
    const error = await openai(tenantA)
      .post('/templates/summarise/run', { body: { variables: { text: 'x', tone: 'dry', mood: 'sad' } } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const message = (error as Error).message;
    expect(message).toContain('missing variables: style, language');
    expect(message).toContain('unknown variables: tone, mood');

    const notScalar = await openai(tenantA).post('/templates/summarise/run', { body: { variables: { style: 'a', language: 'b', text: { deep: 1 } } } }).catch((e: unknown) => e);
    expect((notScalar as Error).message).toContain('variables must be strings, numbers or booleans: text');

    const graphql = await gql(RUN, { input: { name: 'summarise', variables: { text: 'x' } } }, asAdmin(tenantA));
    expect(graphql.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(graphql.errors?.[0]?.message).toContain('missing variables: style, language');
  });

  it('streams a run on /v1 as chat.completion.chunk SSE ending with usage', async () => {
    const response = await fetch(`${gateway.url}/v1/templates/summarise/run`, {
      method: 'POST',
      headers: { ...asAdmin(tenantA), 'content-type': 'application/json' },
      body: JSON.stringify({ stream: true, variables: { style: 'terse', language: 'English', text: 'stream this' } }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const frames = (await response.text()).split('\n\n').filter(Boolean).map((frame) => frame.replace(/^data: /, ''));
    expect(frames.at(-1)).toBe('[DONE]');
    const chunks = frames.slice(0, -1).map((frame) => JSON.parse(frame) as OpenAI.ChatCompletionChunk);
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.model === 'chat-model')).toBe(true);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(fakeTokens('Summarise: stream this', 6).join(''));
    expect(chunks.at(-1)?.usage?.completion_tokens).toBe(6);
    expect(lastChatBody()).toMatchObject({ stream: true, seed: 9 });
  });

  it('runs and streams through GraphQL (mutation, and a graphql-ws subscription)', async () => {
    const ran = await gql<{ runPromptTemplate: { content: string; usage: { completionTokens: number } } }>(
      RUN,
      { input: { name: 'summarise', variables: { style: 'a', language: 'b', text: 'over graphql' } } },
      bearer(tenantKeyA),
    );
    expect(ran.errors).toBeUndefined();
    expect(ran.data!.runPromptTemplate.content).toBe(fakeTokens('Summarise: over graphql', 6).join(''));

    const ws: Client = createClient({
      url: `${gateway.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${tenantKeyA}` },
      retryAttempts: 0,
    });
    try {
      const chunks: { delta: string; finishReason: string | null; usage: { completionTokens: number } | null }[] = [];
      for await (const result of ws.iterate<{ promptTemplateRun: (typeof chunks)[number] }>({
        query: 'subscription($input: RunPromptTemplateInput!) { promptTemplateRun(input: $input) { delta finishReason usage { completionTokens } } }',
        variables: { input: { name: 'summarise', variables: { style: 'a', language: 'b', text: 'over a socket' } } },
      })) {
        expect(result.errors).toBeUndefined();
        chunks.push(result.data!.promptTemplateRun);
      }
      expect(chunks.map((chunk) => chunk.delta).join('')).toBe(fakeTokens('Summarise: over a socket', 6).join(''));
      expect(chunks.at(-1)).toMatchObject({ finishReason: 'stop', usage: { completionTokens: 6 } });
    } finally {
      await ws.dispose();
    }
  });

  it("keeps a tenant's templates to itself, and lets them hide the platform's of the same name", async () => {
    // Tenant A's admin (the platform acting for it) saves its own "summarise" on another model.
    const own = await save({ name: 'summarise', user: 'In one line: {{text}}', model: 'small-model' }, asAdmin(tenantA));
    expect(own).toMatchObject({ tenantId: tenantA, version: 1, variables: ['text'] });
    await openai(tenantA).post('/templates/summarise/run', { body: { variables: { text: 'mine' } } });
    expect(lastChatBody()).toMatchObject({ model: 'upstream-small', messages: [{ role: 'user', content: 'In one line: mine' }] });

    // Tenant B still runs the platform's, and never sees A's.
    await openai(tenantB).post('/templates/summarise/run', { body: { variables: { style: 's', language: 'l', text: 'theirs' } } });
    expect(lastChatBody()).toMatchObject({ model: 'upstream-chat' });
    await save({ name: 'private-notes', user: 'Notes: {{text}}', model: 'chat-model' }, asAdmin(tenantA));
    const refused = await openai(tenantB).post('/templates/private-notes/run', { body: { variables: { text: 'x' } } }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.NotFoundError);
    const read = await gql('query($t: ID) { promptTemplate(name: "private-notes", tenantId: $t) { id } }', { t: tenantA }, bearer(tenantKeyB));
    expect(read.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const asOwn = await gql('query { promptTemplate(name: "private-notes") { id } }', {}, bearer(tenantKeyB));
    expect(asOwn.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const listed = await gql<{ promptTemplates: { name: string; tenantId: string | null }[] }>('query { promptTemplates { name tenantId } }', {}, asAdmin(tenantB));
    expect(listed.data!.promptTemplates).toEqual([{ name: 'summarise', tenantId: null }]);
    const run = await gql(RUN, { input: { name: 'private-notes', variables: { text: 'x' } } }, asAdmin(tenantB));
    expect(run.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('lets only the platform or a tenant admin save, and names what is wrong with a template', async () => {
    const byKey = await gql(SAVE, { input: { name: 'by-key', user: 'x', model: 'chat-model' } }, bearer(tenantKeyA));
    expect(byKey.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const forOther = await gql(SAVE, { input: { tenantId: tenantA, name: 'sneaky', user: 'x', model: 'chat-model' } }, bearer(tenantKeyB));
    expect(forOther.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const bad = async (input: Record<string, unknown>) => (await gql(SAVE, { input: { name: 'ok', user: 'x', model: 'chat-model', ...input } }, asAdmin())).errors?.[0];
    expect((await bad({ name: 'no spaces allowed' }))?.message).toContain('name must be');
    expect((await bad({ user: 'Hi {{first name}}' }))?.message).toContain('user has malformed variables {{first name}}');
    expect((await bad({ parameters: { temperature: 5 } }))?.message).toContain('parameters.temperature');
    expect((await bad({ parameters: { tempreature: 0 } }))?.message).toContain('unknown fields tempreature');
    expect((await bad({ parameters: { temperature: 5 } }))?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
