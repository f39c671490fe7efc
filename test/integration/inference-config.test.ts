import { SignJWT } from 'jose';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  AuditLogDocument,
  BadUserInputError,
  CreateApiKeyDocument,
  CreateTenantDocument,
  createTollgateClient,
  ForbiddenError,
  NotFoundError,
  RemoveProviderCredentialDocument,
  SetProviderCredentialDocument,
  TenantInferenceConfigDocument,
  TestProviderCredentialDocument,
  UpdateInferenceConfigDocument,
  type TollgateClient,
} from '../../client/src/index.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';
import { asAdmin, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { sqlDialects, type TestSqlDatabase } from '../testkit/sql-databases.ts';

const jwtSecret = 'dashboard-jwt-secret-for-config-tests-0123456789';
const providerKey = 'sk-byok-integration-9d2f61c0ab37';

describe.each(sqlDialects())('inference config, provider credentials and audit log over GraphQL on $name', (dialect) => {
  let database: TestSqlDatabase;
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let platform: TollgateClient;
  let tenantA: string;
  let tenantB: string;
  let adminKeyA: TollgateClient;
  let memberA: TollgateClient;
  let adminB: TollgateClient;
  const responses: string[] = [];

  // Every answer is kept, to check afterwards that none ever carried the provider key.
  const recordingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    responses.push(await response.clone().text());
    return response;
  };
  const client = (options: { apiKey?: string; token?: string; tenantId?: string }) =>
    createTollgateClient({ url: gateway.url, fetch: recordingFetch, ...options });
  const userToken = (tenantId: string, role: 'admin' | 'member') =>
    new SignJWT({ tid: tenantId, role })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(`user-${role}`)
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(jwtSecret));

  beforeAll(async () => {
    upstream = await startFakeUpstream({ models: ['Qwen/Qwen2.5-7B'] });
    database = await dialect.create();
    gateway = await startTestApp({
      databaseUrl: database.databaseUrl,
      config: { auth: { jwtSecret } },
      inference: {
        providers: [
          { name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl },
          { name: 'local', type: 'ollama', baseUrl: upstream.url },
        ],
        models: [
          { name: 'qwen-7b', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'Qwen/Qwen2.5-7B', weight: 1 }] },
          { name: 'llama-8b', kind: 'chat', deployments: [{ provider: 'local', model: 'llama3:8b', weight: 1 }] },
        ],
      },
    });
    platform = client({ apiKey: testAdminKey });
    tenantA = (await platform.execute(CreateTenantDocument, { input: { name: 'Acme' } })).createTenant.tenant.id;
    tenantB = (await platform.execute(CreateTenantDocument, { input: { name: 'Globex' } })).createTenant.tenant.id;
    const key = await platform.execute(CreateApiKeyDocument, { input: { tenantId: tenantA, name: 'ops', scopes: ['ADMIN'] } });
    adminKeyA = client({ apiKey: key.createApiKey.secret });
    memberA = client({ token: await userToken(tenantA, 'member') });
    adminB = client({ token: await userToken(tenantB, 'admin') });
  });
  afterAll(async () => {
    await gateway?.stop();
    await database?.dispose();
    await upstream?.close();
  });

  it('shows every configured provider as not configured, and the default config', async () => {
    const { tenant } = await memberA.execute(TenantInferenceConfigDocument, { tenantId: tenantA });
    expect(tenant?.providerCredentials).toEqual([
      { provider: 'gpu-a', configured: false, last4: null, updatedAt: null },
      { provider: 'local', configured: false, last4: null, updatedAt: null },
    ]);
    expect(tenant?.inferenceConfig).toEqual({
      tenantId: tenantA,
      preferredProvider: null,
      autoFailover: true,
      modelOverrides: [],
      allowedModels: null,
      cacheEnabled: false,
      updatedAt: null,
    });
  });

  it('sets a key write-only: the answer and the status show its last four characters only', async () => {
    const { setProviderCredential } = await adminKeyA.execute(SetProviderCredentialDocument, {
      input: { tenantId: tenantA, provider: 'gpu-a', apiKey: providerKey },
    });
    expect(setProviderCredential.credential).toMatchObject({ provider: 'gpu-a', configured: true, last4: 'ab37' });
    const { tenant } = await memberA.execute(TenantInferenceConfigDocument, { tenantId: tenantA });
    expect(tenant?.providerCredentials[0]).toMatchObject({ provider: 'gpu-a', configured: true, last4: 'ab37' });
    const row = await gateway.app.deps.db.db.selectFrom('provider_credential').selectAll().where('tenant_id', '=', tenantA).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(providerKey);
  });

  it('hands the router the decrypted key', async () => {
    const prefs = await gateway.app.deps.services.inferenceConfig.routingPrefs(tenantA);
    expect(prefs.credentials).toEqual({ 'gpu-a': providerKey });
  });

  it('tests the key against the provider and reports a refusal', async () => {
    upstream.reset();
    const ok = await adminKeyA.execute(TestProviderCredentialDocument, { tenantId: tenantA, provider: 'gpu-a' });
    expect(ok.testProviderCredential).toMatchObject({ provider: 'gpu-a', ok: true });
    expect(upstream.requests.at(-1)?.headers.authorization).toBe(`Bearer ${providerKey}`);
    upstream.setBehaviour({ fail: 401 });
    const refused = await platform.execute(TestProviderCredentialDocument, { tenantId: tenantA, provider: 'gpu-a' });
    expect(refused.testProviderCredential).toMatchObject({ ok: false, message: expect.stringContaining('401') });
    upstream.reset();
  });

  it('names an unknown provider, and keeps members and other tenants out', async () => {
    const unknown = adminKeyA.execute(SetProviderCredentialDocument, { input: { tenantId: tenantA, provider: 'gpu-z', apiKey: providerKey } });
    await expect(unknown).rejects.toBeInstanceOf(BadUserInputError);
    await expect(unknown).rejects.toThrow('"gpu-z"');
    await expect(memberA.execute(SetProviderCredentialDocument, { input: { tenantId: tenantA, provider: 'gpu-a', apiKey: 'x-123456789012' } })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    await expect(memberA.execute(TestProviderCredentialDocument, { tenantId: tenantA, provider: 'gpu-a' })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(adminB.execute(RemoveProviderCredentialDocument, { tenantId: tenantA, provider: 'gpu-a' })).rejects.toBeInstanceOf(NotFoundError);
    const foreign = await adminB.execute(TenantInferenceConfigDocument, { tenantId: tenantA }).catch((error: unknown) => error);
    expect(foreign).toBeInstanceOf(NotFoundError);
  });

  it('updates the inference config for tenant admins and the platform, checked against the configuration', async () => {
    const { updateInferenceConfig } = await adminKeyA.execute(UpdateInferenceConfigDocument, {
      input: {
        tenantId: tenantA,
        preferredProvider: 'local',
        modelOverrides: [{ model: 'gpt-4o', target: 'qwen-7b' }],
        allowedModels: ['gpt-4o', 'llama-8b'],
        cacheEnabled: true,
      },
    });
    expect(updateInferenceConfig.inferenceConfig).toMatchObject({
      preferredProvider: 'local',
      autoFailover: true,
      modelOverrides: [{ model: 'gpt-4o', target: 'qwen-7b' }],
      allowedModels: ['gpt-4o', 'llama-8b'],
      cacheEnabled: true,
    });
    const byPlatform = await platform.execute(UpdateInferenceConfigDocument, { input: { tenantId: tenantA, autoFailover: false } });
    expect(byPlatform.updateInferenceConfig.inferenceConfig).toMatchObject({ autoFailover: false, cacheEnabled: true });
    expect(await gateway.app.deps.services.inferenceConfig.routingPrefs(tenantA)).toMatchObject({
      preferredProvider: 'local',
      autoFailover: false,
      modelOverrides: { 'gpt-4o': 'qwen-7b' },
      allowedModels: ['gpt-4o', 'llama-8b'],
      cacheEnabled: true,
    });
    const badModel = platform.execute(UpdateInferenceConfigDocument, { input: { tenantId: tenantA, modelOverrides: [{ model: 'x', target: 'gpt-9' }] } });
    await expect(badModel).rejects.toThrow('unknown model "gpt-9"');
    const badProvider = platform.execute(UpdateInferenceConfigDocument, { input: { tenantId: tenantA, preferredProvider: 'nope' } });
    await expect(badProvider).rejects.toThrow('unknown provider "nope"');
    await expect(memberA.execute(UpdateInferenceConfigDocument, { input: { tenantId: tenantA, cacheEnabled: false } })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(adminB.execute(UpdateInferenceConfigDocument, { input: { tenantId: tenantA, cacheEnabled: false } })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('removes a key', async () => {
    const { removeProviderCredential } = await adminKeyA.execute(RemoveProviderCredentialDocument, { tenantId: tenantA, provider: 'gpu-a' });
    expect(removeProviderCredential).toEqual({ removed: true, credential: { provider: 'gpu-a', configured: false, last4: null, updatedAt: null } });
    expect((await gateway.app.deps.services.inferenceConfig.routingPrefs(tenantA)).credentials).toBeUndefined();
  });

  it("records every change in the audit log, readable by the platform and the tenant's admins only", async () => {
    const all = await platform.execute(AuditLogDocument, { first: 50 });
    const actions = all.auditLog.edges.map((e) => e.node.action);
    expect(actions).toEqual(expect.arrayContaining(['tenant.create', 'provider_credential.set', 'inference_config.update', 'provider_credential.remove']));
    const own = await adminKeyA.execute(AuditLogDocument, { first: 50 });
    expect(own.auditLog.edges.length).toBeGreaterThan(0);
    expect(own.auditLog.edges.every((e) => e.node.tenantId === tenantA)).toBe(true);
    const newest = own.auditLog.edges[0]!.node;
    expect(newest).toMatchObject({ action: 'provider_credential.remove', target: 'gpu-a', actorType: 'api-key' });
    expect(JSON.parse(newest.details)).toEqual({ provider: 'gpu-a' });
    expect(newest.requestId).toMatch(/^req_/);
    const update = own.auditLog.edges.find((e) => e.node.action === 'inference_config.update' && e.node.actorType === 'platform')!.node;
    expect(JSON.parse(update.details)).toEqual({ autoFailover: false });

    const scoped = await platform.execute(AuditLogDocument, { tenantId: tenantB, first: 50 });
    expect(scoped.auditLog.edges.map((e) => e.node.action)).toEqual(['tenant.create']);
    await expect(adminB.execute(AuditLogDocument, { tenantId: tenantA })).rejects.toBeInstanceOf(NotFoundError);
    await expect(memberA.execute(AuditLogDocument, { first: 10 })).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('pages through the audit log with cursors, newest first', async () => {
    const seen: string[] = [];
    let after: string | null | undefined;
    for (let page = 0; page < 20; page += 1) {
      const result = await platform.execute(AuditLogDocument, { tenantId: tenantA, first: 2, after });
      seen.push(...result.auditLog.edges.map((e) => e.node.id));
      if (!result.auditLog.pageInfo.hasNextPage) break;
      after = result.auditLog.pageInfo.endCursor;
    }
    const everything = await platform.execute(AuditLogDocument, { tenantId: tenantA, first: 100 });
    expect(seen).toEqual(everything.auditLog.edges.map((e) => e.node.id));
    expect(seen.map(Number)).toEqual([...seen.map(Number)].sort((a, b) => b - a));
    const bad = await graphqlRequest(gateway.url, '{ auditLog(after: "bm9wZQ") { edges { cursor } } }', {}, asAdmin());
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('works over graphql-ws too, and refuses another tenant there as well', async () => {
    const ws = createClient({
      url: gateway.url.replace('http', 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${await userToken(tenantB, 'admin')}` },
      retryAttempts: 0,
    });
    try {
      const run = (query: string) =>
        new Promise<{ data?: unknown; errors?: { extensions?: { code?: string } }[] }>((resolve, reject) => {
          ws.subscribe({ query }, { next: (value) => resolve(value as never), error: reject, complete: () => {} });
        });
      const own = await run(`{ tenant(id: "${tenantB}") { providerCredentials { provider configured } } }`);
      expect(own.data).toEqual({ tenant: { providerCredentials: [{ provider: 'gpu-a', configured: false }, { provider: 'local', configured: false }] } });
      const other = await run(`{ tenant(id: "${tenantA}") { inferenceConfig { cacheEnabled } } }`);
      expect(other.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    } finally {
      await ws.dispose();
    }
  });

  it('never put the provider key in a response or a log line', () => {
    expect(responses.length).toBeGreaterThan(10);
    for (const body of responses) expect(body).not.toContain(providerKey);
    expect(gateway.logs.join('\n')).not.toContain(providerKey);
  });
});
