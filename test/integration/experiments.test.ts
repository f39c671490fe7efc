import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asAdmin, bearer, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';
import { describeOnEachRedis } from '../testkit/redis-targets.ts';
import { sqlDialects } from '../testkit/sql-databases.ts';

// A/B experiments on a requested name: the split, stickiness by user, pause and stop, tenant
// isolation, and the variant on responses and usage events. The fake upstream records which model
// each request was sent as.

const experimentFields = 'id status stickiness tenantId model variants { name model weight }';
const createMutation = `mutation($input: CreateExperimentInput!) { createExperiment(input: $input) { experiment { ${experimentFields} } } }`;
const statusMutation = `mutation($id: ID!, $status: ExperimentStatus!) { setExperimentStatus(id: $id, status: $status) { experiment { ${experimentFields} } } }`;

interface ExperimentData {
  id: string;
  status: string;
  tenantId: string | null;
  variants: { name: string; model: string; weight: number }[];
}

const inference = (baseUrl: string) => ({
  providers: [{ name: 'gpu-a', type: 'openai' as const, baseUrl }],
  models: ['chat', 'base', 'cand', 'other'].map((name) => ({ name, kind: 'chat' as const, deployments: [{ provider: 'gpu-a', model: `up-${name}`, weight: 1 }] })),
});

async function gql<T>(url: string, query: string, variables: Record<string, unknown>, headers: Record<string, string> = asAdmin()) {
  return graphqlRequest<T>(url, query, variables, headers);
}

async function createTenant(url: string, name: string): Promise<string> {
  const created = await gql<{ createTenant: { tenant: { id: string } } }>(url, 'mutation($input: CreateTenantInput!) { createTenant(input: $input) { tenant { id } } }', { input: { name, plan: 'enterprise' } });
  const tenantId = created.data!.createTenant.tenant.id;
  // A thousand requests in a few seconds: well past the plan's per-minute limits.
  const limits = await gql(url, 'mutation($id: ID!, $limits: RateLimitsInput!) { setTenantLimits(tenantId: $id, limits: $limits) { tenant { id } } }', {
    id: tenantId,
    limits: { requestsPerMinute: 1_000_000, tokensPerMinute: 100_000_000 },
  });
  expect(limits.errors).toBeUndefined();
  return tenantId;
}

async function createExperiment(url: string, input: Record<string, unknown>, headers?: Record<string, string>): Promise<ExperimentData> {
  const result = await gql<{ createExperiment: { experiment: ExperimentData } }>(url, createMutation, { input }, headers);
  expect(result.errors).toBeUndefined();
  return result.data!.createExperiment.experiment;
}

async function setStatus(url: string, id: string, status: string): Promise<void> {
  const result = await gql(url, statusMutation, { id, status });
  expect(result.errors).toBeUndefined();
}

describe('experiments', () => {
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let tenantA: string;
  let tenantB: string;
  let keyB: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 1 } });
    gateway = await startTestApp({ inference: inference(upstream.openaiBaseUrl) });
    tenantA = await createTenant(gateway.url, 'Experiments A');
    tenantB = await createTenant(gateway.url, 'Experiments B');
    const key = await gql<{ createApiKey: { secret: string } }>(gateway.url, 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }', {
      input: { tenantId: tenantB, name: 'b admin', scopes: ['INFERENCE', 'USAGE_READ', 'ADMIN'] },
    });
    keyB = key.data!.createApiKey.secret;
    gateway.secrets.add(keyB);
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  const client = (tenantId: string) => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId }, maxRetries: 0 });
  const sentAs = () => (upstream.requests.at(-1)?.body as { model: string }).model;

  async function ask(tenantId: string, model: string, userId?: string, requestId?: string) {
    const headers: Record<string, string> = {};
    if (userId) headers['x-user-id'] = userId;
    if (requestId) headers['x-request-id'] = requestId;
    const { data, response } = await client(tenantId).chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }, { headers }).withResponse();
    return { model: data.model, sentAs: sentAs(), variant: response.headers.get('x-tollgate-variant') };
  }

  it('splits 1,000 users 80/20 within a chi-square test at p > 0.01, each variant to its model', async () => {
    const experiment = await createExperiment(gateway.url, {
      model: 'chat',
      tenantId: tenantA,
      stickiness: 'USER',
      variants: [
        { name: 'a', model: 'base', weight: 80 },
        { name: 'b', model: 'cand', weight: 20 },
      ],
    });
    expect(experiment).toMatchObject({ status: 'RUNNING', tenantId: tenantA, variants: [{ name: 'a', model: 'base', weight: 80 }, { name: 'b', model: 'cand', weight: 20 }] });
    const counts = { a: 0, b: 0 };
    for (let i = 0; i < 1_000; i++) {
      const answer = await ask(tenantA, 'chat', `user-${i}`);
      expect(answer.model).toBe('chat');
      expect(answer.sentAs).toBe(answer.variant === 'a' ? 'up-base' : 'up-cand');
      counts[answer.variant as 'a' | 'b']++;
    }
    // One degree of freedom: 6.635 is the 0.99 quantile.
    const chiSquare = (counts.a - 800) ** 2 / 800 + (counts.b - 200) ** 2 / 200;
    expect(chiSquare).toBeLessThan(6.635);

    // The results count what was served, read from the usage store once the events have landed.
    const range = { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 3_600_000).toISOString() };
    let variants: { name: string; requests: number; errorRate: number }[] = [];
    let recommendation = '';
    while (variants.reduce((sum, v) => sum + v.requests, 0) < 1_000) {
      const result = await gql<{ experiment: { results: { variants: typeof variants; recommendation: string } } }>(
        gateway.url,
        'query($id: ID!, $range: DateRangeInput!) { experiment(id: $id) { results(range: $range) { variants { name requests errorRate } comparisons { metric significant } recommendation } } }',
        { id: experiment.id, range },
      );
      expect(result.errors).toBeUndefined();
      ({ variants, recommendation } = result.data!.experiment.results);
    }
    expect(variants).toEqual([{ name: 'a', requests: counts.a, errorRate: 0 }, { name: 'b', requests: counts.b, errorRate: 0 }]);
    expect(recommendation).toContain(`(n = ${(1_000).toLocaleString('en-US')})`);
    await setStatus(gateway.url, experiment.id, 'STOPPED');
  });

  it('gives a user the same variant every time, and splits per request without stickiness', async () => {
    const sticky = await createExperiment(gateway.url, { model: 'chat', tenantId: tenantA, stickiness: 'USER', variants: [{ name: 'a', model: 'base', weight: 1 }, { name: 'b', model: 'cand', weight: 1 }] });
    const seen = new Set<string>();
    for (let user = 0; user < 20; user++) {
      const first = (await ask(tenantA, 'chat', `sticky-${user}`)).variant!;
      seen.add(first);
      for (let again = 0; again < 5; again++) expect((await ask(tenantA, 'chat', `sticky-${user}`)).variant).toBe(first);
    }
    expect([...seen].sort()).toEqual(['a', 'b']);
    await setStatus(gateway.url, sticky.id, 'STOPPED');

    const perRequest = await createExperiment(gateway.url, { model: 'chat', tenantId: tenantA, stickiness: 'REQUEST', variants: [{ name: 'a', model: 'base', weight: 1 }, { name: 'b', model: 'cand', weight: 1 }] });
    const oneUser = new Set<string>();
    for (let i = 0; i < 40; i++) oneUser.add((await ask(tenantA, 'chat', 'same-user')).variant!);
    expect([...oneUser].sort()).toEqual(['a', 'b']);
    await setStatus(gateway.url, perRequest.id, 'STOPPED');
  });

  it('sends everything to the baseline while paused, splits again when resumed, and lets go when stopped', async () => {
    const experiment = await createExperiment(gateway.url, { model: 'chat', tenantId: tenantA, stickiness: 'REQUEST', variants: [{ name: 'a', model: 'base', weight: 1 }, { name: 'b', model: 'cand', weight: 99 }] });
    await setStatus(gateway.url, experiment.id, 'PAUSED');
    for (let i = 0; i < 30; i++) expect(await ask(tenantA, 'chat')).toEqual({ model: 'chat', sentAs: 'up-base', variant: null });
    await setStatus(gateway.url, experiment.id, 'RUNNING');
    const resumed = new Set<string>();
    for (let i = 0; i < 10; i++) resumed.add((await ask(tenantA, 'chat')).sentAs);
    expect(resumed.has('up-cand')).toBe(true);
    await setStatus(gateway.url, experiment.id, 'STOPPED');
    expect(await ask(tenantA, 'chat')).toEqual({ model: 'chat', sentAs: 'up-chat', variant: null });
    const restart = await gql(gateway.url, statusMutation, { id: experiment.id, status: 'RUNNING' });
    expect(restart.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it("records the experiment and variant on the request's usage event", async () => {
    const experiment = await createExperiment(gateway.url, { model: 'other', tenantId: tenantA, stickiness: 'REQUEST', variants: [{ name: 'only-b', model: 'cand', weight: 1 }, { name: 'c', model: 'cand', weight: 1 }] });
    const answer = await ask(tenantA, 'other', 'u-1', 'experiment-event-1');
    let node: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && !node; i++) {
      const result = await gql<{ tenant: { usageEvents: { edges: { node: Record<string, unknown> }[] } } }>(
        gateway.url,
        'query($id: ID!) { tenant(id: $id) { usageEvents(first: 10) { edges { node { requestId servedModel experimentId variant } } } } }',
        { id: tenantA },
      );
      node = result.data?.tenant.usageEvents.edges.map((edge) => edge.node).find((n) => n.requestId === 'experiment-event-1');
      if (!node) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(node).toEqual({ requestId: 'experiment-event-1', servedModel: 'cand', experimentId: experiment.id, variant: answer.variant });
    await setStatus(gateway.url, experiment.id, 'STOPPED');
  });

  it("applies a platform-wide experiment to tenants without their own; a tenant's own wins", async () => {
    const denied = await gql(gateway.url, createMutation, { input: { model: 'other', variants: [{ name: 'a', model: 'base', weight: 1 }, { name: 'b', model: 'cand', weight: 1 }] } }, bearer(keyB));
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const platform = await createExperiment(gateway.url, { model: 'other', stickiness: 'REQUEST', variants: [{ name: 'p-base', model: 'base', weight: 1 }, { name: 'p-base-too', model: 'base', weight: 1 }] });
    const own = await createExperiment(gateway.url, { model: 'other', tenantId: tenantA, stickiness: 'REQUEST', variants: [{ name: 'own-1', model: 'cand', weight: 1 }, { name: 'own-2', model: 'cand', weight: 1 }] });
    expect((await ask(tenantB, 'other')).sentAs).toBe('up-base');
    expect((await ask(tenantA, 'other')).sentAs).toBe('up-cand');
    await setStatus(gateway.url, own.id, 'STOPPED');
    expect((await ask(tenantA, 'other')).variant).toMatch(/^p-base/);
    await setStatus(gateway.url, platform.id, 'STOPPED');
  });

  it("keeps tenants apart: another tenant's experiment is NOT_FOUND", async () => {
    const experiment = await createExperiment(gateway.url, { model: 'base', tenantId: tenantA, variants: [{ name: 'a', model: 'base', weight: 1 }, { name: 'b', model: 'cand', weight: 1 }] });
    const asB = bearer(keyB);
    const read = await gql(gateway.url, `query($id: ID!) { experiment(id: $id) { id } }`, { id: experiment.id }, asB);
    expect(read.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const change = await gql(gateway.url, statusMutation, { id: experiment.id, status: 'STOPPED' }, asB);
    expect(change.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const list = await gql(gateway.url, `query($id: ID) { experiments(tenantId: $id) { id } }`, { id: tenantA }, asB);
    expect(list.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const own = await gql<{ experiments: { id: string }[] }>(gateway.url, `query($id: ID) { experiments(tenantId: $id) { id } }`, { id: tenantB }, asB);
    expect(own.data?.experiments).toEqual([]);
    const mine = await gql<{ experiment: { id: string; status: string } }>(gateway.url, `query($id: ID!) { experiment(id: $id) { id status } }`, { id: experiment.id });
    expect(mine.data?.experiment).toEqual({ id: experiment.id, status: 'RUNNING' });
    await setStatus(gateway.url, experiment.id, 'STOPPED');
  });

  it('refuses bad input, naming the problem', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ model: 'chat', tenantId: tenantA, variants: [{ name: 'a', model: 'base', weight: 1 }] }, /2 to 10 variants/],
      [{ model: 'chat', tenantId: tenantA, variants: [{ name: 'a', model: 'base', weight: 1 }, { name: 'b', model: 'nope', weight: 1 }] }, /variants\[1\]\.model "nope"/],
      [{ model: 'chat', tenantId: tenantA, variants: [{ name: 'a', model: 'base', weight: 1 }, { name: 'a', model: 'cand', weight: 1 }] }, /"a" is used twice/],
      [{ model: 'chat', tenantId: tenantA, variants: [{ name: 'a', model: 'base', weight: 0 }, { name: 'b', model: 'cand', weight: 1 }] }, /variants\[0\]\.weight/],
    ];
    for (const [input, message] of cases) {
      const result = await gql(gateway.url, createMutation, { input });
      expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.message).toMatch(message);
    }
    const first = await createExperiment(gateway.url, { model: 'cand', tenantId: tenantA, variants: [{ name: 'a', model: 'base', weight: 1 }, { name: 'b', model: 'cand', weight: 1 }] });
    const second = await gql(gateway.url, createMutation, { input: { model: 'cand', tenantId: tenantA, variants: [{ name: 'a', model: 'base', weight: 1 }, { name: 'b', model: 'cand', weight: 1 }] } });
    expect(second.errors?.[0]?.message).toMatch(/already running or paused/);
    await setStatus(gateway.url, first.id, 'STOPPED');
  });
});

const postgres = sqlDialects().find((dialect) => dialect.name === 'postgres');
describeOnEachRedis('experiments across instances (Postgres + $name)', postgres !== undefined, ({ url: redisUrl }) => {
  let upstream: FakeUpstream;
  let one: TestApp;
  let two: TestApp;
  let dispose: () => Promise<void>;
  let tenantId: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 1 } });
    const database = await postgres!.create();
    dispose = database.dispose;
    const limits = { keyPrefix: `test:experiments:${Date.now()}:` };
    one = await startTestApp({ databaseUrl: database.databaseUrl, redisUrl, inference: inference(upstream.openaiBaseUrl), config: { limits } });
    two = await startTestApp({ databaseUrl: database.databaseUrl, redisUrl, inference: inference(upstream.openaiBaseUrl), config: { limits } });
    tenantId = await createTenant(one.url, 'Experiments across');
  });
  afterAll(async () => {
    await one?.stop();
    await two?.stop();
    await dispose?.();
    await upstream?.close();
  });

  it('pauses and stops an experiment on the other instance as soon as its broadcast arrives', async () => {
    const onTwo = new OpenAI({ baseURL: `${two.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId }, maxRetries: 0 });
    const sentOnTwo = async () => {
      await onTwo.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
      return (upstream.requests.at(-1)?.body as { model: string }).model;
    };
    // Polls the other instance until it serves `expected`; the test's timeout bounds the wait.
    const until = async (expected: string) => {
      for (let tries = 1; ; tries++) if ((await sentOnTwo()) === expected) return tries;
    };
    const experiment = await createExperiment(one.url, { model: 'chat', tenantId, stickiness: 'REQUEST', variants: [{ name: 'a', model: 'base', weight: 1 }, { name: 'b', model: 'cand', weight: 1_000_000 }] });
    await until('up-cand');
    await setStatus(one.url, experiment.id, 'PAUSED');
    await until('up-base');
    await setStatus(one.url, experiment.id, 'STOPPED');
    await until('up-chat');
    for (let i = 0; i < 5; i++) expect(await sentOnTwo()).toBe('up-chat');
  });
});
