import { getNamedType, getNullableType, isInputObjectType, isListType, type GraphQLArgument, type GraphQLInputType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/schema.ts';
import { asAdmin, graphqlRequest, startTestApp, type GraphqlResult, type TestApp } from '../testkit/app.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';
import { sqlDialects, type TestSqlDatabase } from '../testkit/sql-databases.ts';

// Every string argument of every mutation, walked from the schema itself, gets each value a store cannot
// hold or should not: a 4xx or BAD_USER_INPUT naming the argument every time, never INTERNAL_SERVER_ERROR,
// and the server serves as before. A mutation added without a baseline below fails the coverage check.

type Variables = Record<string, unknown>;
type Path = (string | number)[];

const badValues: [string, string][] = [
  ['a NUL byte', 'acc\u0000poison'],
  ['a lone surrogate', 'a\ud800b'],
  ['a control character', 'a\u0007b'],
  ['a 1 MB string', 'x'.repeat(1_048_576)],
];

// Prompt text is sent upstream and never stored: long text and line breaks are its nature.
const notStored = new Set(['ChatMessageInput.content']);
const refusedEvenWhenNotStored = new Set(['a NUL byte', 'a lone surrogate']);

const mutationType = schema.getMutationType()!;

/** Every String or ID leaf under an argument, with the schema coordinate of its input field. */
function stringPaths(arg: GraphQLArgument, sample: unknown): { path: Path; coordinate: string }[] {
  const found: { path: Path; coordinate: string }[] = [];
  const walk = (type: GraphQLInputType, value: unknown, path: Path, coordinate: string) => {
    const inner = getNullableType(type);
    if (isListType(inner)) {
      // The baseline holds one item of each list, so its strings are reached too.
      if (Array.isArray(value)) value.forEach((item, index) => walk(inner.ofType, item, [...path, index], coordinate));
      return;
    }
    if (isInputObjectType(inner)) {
      for (const field of Object.values(inner.getFields())) {
        walk(field.type, (value as Variables | undefined)?.[field.name], [...path, field.name], `${inner.name}.${field.name}`);
      }
      return;
    }
    if (['String', 'ID'].includes(getNamedType(inner).name)) found.push({ path, coordinate });
  };
  walk(arg.type, sample, [arg.name], `${mutationType.name}.${arg.name}`);
  return found;
}

function withValue(variables: Variables, path: Path, value: string): Variables {
  const copy = structuredClone(variables);
  let target = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) {
    target[key] ??= typeof path[path.indexOf(key) + 1] === 'number' ? [] : {};
    target = target[key] as Record<string | number, unknown>;
  }
  target[path.at(-1)!] = value;
  return copy;
}

function documentFor(name: string): string {
  const field = mutationType.getFields()[name]!;
  const declarations = field.args.map((arg) => `$${arg.name}: ${String(arg.type)}`).join(', ');
  const args = field.args.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
  return `mutation(${declarations}) { ${name}(${args}) { __typename } }`;
}

describe.each(sqlDialects())('GraphQL bad input on $name', (dialect) => {
  let database: TestSqlDatabase;
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let tenantId: string;
  let keyId: string;
  let baselines: Record<string, Variables>;
  let experimentId: string;
  const feedbackRequestId = 'req_bad_input_feedback';

  const call = (name: string, variables: Variables) => graphqlRequest(gateway.url, documentFor(name), variables, asAdmin(tenantId));

  beforeAll(async () => {
    database = await dialect.create();
    upstream = await startFakeUpstream({ behaviour: { tokens: 3 } });
    gateway = await startTestApp({
      databaseUrl: database.databaseUrl,
      // Room for a 1 MB argument, so the check on the argument answers rather than the body limit.
      config: { server: { maxBodyBytes: 4 * 1024 * 1024 } },
      inference: {
        providers: [{ name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl }],
        models: [{ name: 'chat-model', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'upstream-chat', weight: 1 }] }],
      },
    });
    const tenant = await graphqlRequest<{ createTenant: { tenant: { id: string } } }>(
      gateway.url,
      'mutation { createTenant(input: { name: "Bad Input Co", plan: "pro" }) { tenant { id } } }',
      {},
      asAdmin(),
    );
    tenantId = tenant.data!.createTenant.tenant.id;
    const key = await graphqlRequest<{ createApiKey: { apiKey: { id: string } } }>(
      gateway.url,
      'mutation($t: ID!) { createApiKey(input: { tenantId: $t, name: "baseline" }) { apiKey { id } } }',
      { t: tenantId },
      asAdmin(),
    );
    keyId = key.data!.createApiKey.apiKey.id;
    // A served request to give feedback on, and an experiment whose status the baseline changes.
    const served = await graphqlRequest(gateway.url, 'mutation { createChatCompletion(input: { model: "chat-model", messages: [{ role: "user", content: "rate me" }] }) { id } }', {}, {
      ...asAdmin(tenantId),
      'x-request-id': feedbackRequestId,
    });
    expect(served.errors).toBeUndefined();
    const experiment = await graphqlRequest<{ createExperiment: { experiment: { id: string } } }>(
      gateway.url,
      'mutation($input: CreateExperimentInput!) { createExperiment(input: $input) { experiment { id } } }',
      { input: { model: 'chat-model', tenantId, variants: [{ name: 'a', model: 'chat-model', weight: 1 }, { name: 'b', model: 'chat-model', weight: 1 }] } },
      asAdmin(),
    );
    experimentId = experiment.data!.createExperiment.experiment.id;
    // One valid call per mutation; each bad-input case changes exactly one string in it.
    baselines = {
      createTenant: { input: { name: 'Another Co', plan: 'starter' } },
      updateTenant: { input: { id: tenantId, name: 'Bad Input Co' } },
      setTenantPlan: { tenantId, plan: 'pro' },
      setTenantLimits: { tenantId, limits: { requestsPerMinute: 500 } },
      updatePlan: { input: { id: 'enterprise', name: 'Enterprise', currency: 'GBP', monthlyPrice: '499.00', overagePerMillion: '1.00' } },
      createApiKey: { input: { tenantId, name: 'a key', scopes: ['INFERENCE'] } },
      setApiKeyLimits: { apiKeyId: keyId, limits: { requestsPerMinute: 50 } },
      rotateApiKey: { id: keyId },
      setProviderCredential: { input: { tenantId, provider: 'gpu-a', apiKey: 'sk-tenant-own-key-0123456789' } },
      testProviderCredential: { tenantId, provider: 'gpu-a' },
      removeProviderCredential: { tenantId, provider: 'gpu-a' },
      updateInferenceConfig: {
        input: { tenantId, allowedModels: ['chat-model'], modelOverrides: [{ model: 'chat-model', target: 'chat-model' }], preferredProvider: 'gpu-a' },
      },
      createChatCompletion: { input: { model: 'chat-model', messages: [{ role: 'user', content: 'hello' }] } },
      // Platform-wide: the tenant's own experiment on the name is running already.
      createExperiment: { input: { model: 'chat-model', variants: [{ name: 'a', model: 'chat-model', weight: 4 }, { name: 'b', model: 'chat-model', weight: 1 }] } },
      setExperimentStatus: { id: experimentId, status: 'PAUSED' },
      recordFeedback: { input: { requestId: feedbackRequestId, metric: 'thumbs_up', booleanValue: true } },
      savePromptTemplate: { input: { tenantId, name: 'bad-input-template', system: 'Be brief.', user: 'Hello {{who}}', model: 'chat-model' } },
      runPromptTemplate: { input: { name: 'bad-input-template', variables: { who: 'you' } } },
      createPlan: { input: { id: 'bad-input-plan', name: 'Bad Input Plan', currency: 'GBP', monthlyPrice: '9.00', hardQuota: false } },
      retirePlan: { id: 'bad-input-plan' },
      setModelPrice: { input: { model: 'chat-model', inputPerMillion: '1.00', outputPerMillion: '2.00', currency: 'USD' } },
      setBudget: { input: { tenantId, monthlyLimit: '100.00' } },
      removeBudget: { tenantId },
      // After the completion: a suspended tenant is served none.
      suspendTenant: { id: tenantId },
      reactivateTenant: { id: tenantId },
      // Last: the key is revoked for good.
      revokeApiKey: { id: keyId },
    };
    gateway.secrets.add('sk-tenant-own-key-0123456789');
  }, 60_000);
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
    await database?.dispose();
  });

  it('has a valid baseline for every mutation', async () => {
    expect(Object.keys(baselines).sort()).toEqual(Object.keys(mutationType.getFields()).sort());
    for (const [name, variables] of Object.entries(baselines)) {
      const result = await call(name, variables);
      expect({ name, errors: result.errors }).toEqual({ name, errors: undefined });
    }
  }, 60_000);

  it('refuses every bad string in every mutation argument with BAD_USER_INPUT naming it', async () => {
    const outcomes: string[] = [];
    let cases = 0;
    for (const [name, variables] of Object.entries(baselines)) {
      for (const arg of mutationType.getFields()[name]!.args) {
        for (const { path, coordinate } of stringPaths(arg, variables[arg.name])) {
          for (const [label, value] of badValues) {
            if (notStored.has(coordinate) && !refusedEvenWhenNotStored.has(label)) continue;
            cases += 1;
            const result: GraphqlResult = await call(name, withValue(variables, path, value));
            const codes = (result.errors ?? []).map((e) => e.extensions?.code);
            const named = path.filter((part): part is string => typeof part === 'string').at(-1)!;
            const refused = result.status >= 400 && result.status < 500 ? codes.every((code) => code !== 'INTERNAL_SERVER_ERROR') : codes.includes('BAD_USER_INPUT');
            const says = (result.errors ?? []).some((e) => e.message.includes(named));
            if (!refused || !says) outcomes.push(`${name} ${path.join('.')} with ${label}: ${result.status} ${JSON.stringify(result.errors ?? result.data).slice(0, 200)}`);
          }
        }
      }
    }
    expect(outcomes).toEqual([]);
    // Every mutation has at least one string argument, so each was tried.
    expect(cases).toBeGreaterThan(Object.keys(baselines).length * badValues.length);
  }, 300_000);

  it('refuses a zero or negative page size on every connection', async () => {
    const queries = [
      `{ tenants(first: $n) { edges { node { id } } } }`,
      `{ tenants(last: $n) { edges { node { id } } } }`,
      `{ tenant(id: "${tenantId}") { apiKeys(first: $n) { edges { node { id } } } } }`,
      `{ tenant(id: "${tenantId}") { apiKeys(last: $n) { edges { node { id } } } } }`,
      `{ tenant(id: "${tenantId}") { usageEvents(first: $n) { edges { node { id } } } } }`,
      `{ auditLog(first: $n) { edges { node { id } } } }`,
      `{ usageTopTenants(first: $n, range: { from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z" }) { tenantId } }`,
    ];
    // Every field that takes `first` or `last` is in the list above.
    const pagedFields = Object.values(schema.getTypeMap()).flatMap((type) =>
      'getFields' in type && !type.name.startsWith('__') && !isInputObjectType(type)
        ? Object.values(type.getFields()).flatMap((field) => (field.args.some((a) => a.name === 'first' || a.name === 'last') ? [field.name] : []))
        : [],
    );
    for (const field of pagedFields) expect(queries.some((q) => q.includes(`${field}(`))).toBe(true);
    for (const query of queries) {
      for (const n of [0, -1]) {
        const result = await graphqlRequest(gateway.url, `query($n: Int) ${query}`, { n }, asAdmin(tenantId));
        expect({ query, n, codes: result.errors?.map((e) => e.extensions?.code) }).toEqual({ query, n, codes: ['BAD_USER_INPUT'] });
        expect(result.errors![0]!.message).toMatch(/(first|last) must be at least 1/);
      }
    }
  });

  it('is healthy after all of it', async () => {
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    const renamed = await call('updateTenant', { input: { id: tenantId, name: 'Still Here Co' } });
    expect(renamed.errors).toBeUndefined();
    const tenant = await graphqlRequest<{ tenant: { name: string } }>(gateway.url, 'query($id: ID!) { tenant(id: $id) { name } }', { id: tenantId }, asAdmin());
    expect(tenant.data?.tenant.name).toBe('Still Here Co');
  });
});
