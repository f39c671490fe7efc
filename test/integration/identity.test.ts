import { createClient, type Client } from 'graphql-ws';
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { asAdmin, bearer, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { sqlDialects, type TestSqlDatabase } from '../testkit/sql-databases.ts';

const jwtSecret = 'dashboard-jwt-secret-for-tests-0123456789';
const issuer = 'https://id.tollgate.test';
const audience = 'tollgate-dashboard';

const viewerQuery = '{ viewer { kind tenantId apiKeyId scopes role userId } }';
const createKey = `mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { apiKey { id prefix name scopes status expiresAt createdAt revokedAt lastUsedAt } secret }
}`;
const revokeKey = 'mutation($id: ID!) { revokeApiKey(id: $id) { apiKey { id status revokedAt } } }';
const rotateKey = 'mutation($id: ID!, $grace: Int) { rotateApiKey(id: $id, gracePeriodSeconds: $grace) { apiKey { id status previousSecretValidUntil } secret } }';

interface CreatedKey {
  apiKey: { id: string; prefix: string; name: string; scopes: string[]; status: string; expiresAt: string | null };
  secret: string;
}

describe.each(sqlDialects())('identity over HTTP on $name', (dialect) => {
  let database: TestSqlDatabase;
  let gateway: TestApp;
  let tenantA: string;
  let tenantB: string;
  const secrets: string[] = [];

  const gql = <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    graphqlRequest<T>(gateway.url, query, variables, headers);

  const newTenant = async (name: string) => {
    const result = await gql<{ createTenant: { tenant: { id: string } } }>('mutation($name: String!) { createTenant(input: { name: $name }) { tenant { id } } }', { name }, asAdmin());
    return result.data!.createTenant.tenant.id;
  };

  const newKey = async (input: Record<string, unknown>, headers: Record<string, string> = asAdmin()): Promise<CreatedKey> => {
    const result = await gql<{ createApiKey: CreatedKey }>(createKey, { input }, headers);
    expect(result.errors).toBeUndefined();
    secrets.push(result.data!.createApiKey.secret);
    return result.data!.createApiKey;
  };

  const jwt = (claims: Record<string, unknown>, options: { expiresIn?: number; iss?: string; aud?: string } = {}) =>
    new SignJWT({ tid: tenantA, role: 'admin', ...claims })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('dash-user-1')
      .setIssuer(options.iss ?? issuer)
      .setAudience(options.aud ?? audience)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresIn ?? 600))
      .sign(new TextEncoder().encode(jwtSecret));

  beforeAll(async () => {
    database = await dialect.create();
    gateway = await startTestApp({
      databaseUrl: database.databaseUrl,
      config: { auth: { jwtSecret, jwtIssuer: issuer, jwtAudience: audience }, logLevel: 'trace' },
    });
    tenantA = await newTenant('Acme');
    tenantB = await newTenant('Globex');
  });
  afterAll(async () => {
    await gateway?.stop();
    await database?.dispose();
  });

  it('creates a key, authenticates with it, then refuses it once revoked', async () => {
    const { apiKey, secret } = await newKey({ tenantId: tenantA, name: 'ci' });
    expect(secret).toMatch(/^tg_[0-9a-z]{8}_[0-9a-z]{32}$/);
    expect(apiKey).toMatchObject({ prefix: `tg_${apiKey.id}`, name: 'ci', scopes: ['INFERENCE', 'USAGE_READ'], status: 'ACTIVE', expiresAt: null });
    expect(secret.startsWith(`${apiKey.prefix}_`)).toBe(true);

    const viewer = await gql(viewerQuery, {}, bearer(secret));
    expect(viewer.data?.viewer).toEqual({ kind: 'API_KEY', tenantId: tenantA, apiKeyId: apiKey.id, scopes: ['inference', 'usage:read'], role: null, userId: null });

    const revoked = await gql<{ revokeApiKey: { apiKey: { status: string; revokedAt: string } } }>(revokeKey, { id: apiKey.id }, asAdmin());
    expect(revoked.data?.revokeApiKey.apiKey.status).toBe('REVOKED');
    const refused = await gql(viewerQuery, {}, bearer(secret));
    expect(refused.status).toBe(401);
    expect(refused.data ?? null).toBeNull();
    expect(refused.errors?.[0]).toMatchObject({ message: 'this API key was revoked', extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('refuses an expired key with 401, naming when it expired', async () => {
    const expiresAt = new Date(Date.now() + 1_500);
    const { secret } = await newKey({ tenantId: tenantA, name: 'short', expiresAt: expiresAt.toISOString() });
    expect((await gql(viewerQuery, {}, bearer(secret))).errors).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, expiresAt.getTime() - Date.now() + 50));
    const refused = await gql(viewerQuery, {}, bearer(secret));
    expect(refused.status).toBe(401);
    expect(refused.errors?.[0]?.message).toBe(`this API key expired at ${expiresAt.toISOString()}`);
  });

  it('refuses a wrong secret for a real key id without saying what is wrong', async () => {
    const { secret } = await newKey({ tenantId: tenantA, name: 'probe' });
    const wrong = `${secret.slice(0, -4)}0000`;
    const refused = await gql(viewerQuery, {}, bearer(wrong));
    expect(refused.status).toBe(401);
    expect(refused.errors?.[0]?.message).toBe('invalid API key');
  });

  it('rotates: the old secret is refused at once, or kept for the grace period asked', async () => {
    const { apiKey, secret: first } = await newKey({ tenantId: tenantA, name: 'rotating' });
    expect((await gql(viewerQuery, {}, bearer(first))).errors).toBeUndefined();

    const graced = await gql<{ rotateApiKey: { secret: string; apiKey: { previousSecretValidUntil: string | null } } }>(rotateKey, { id: apiKey.id, grace: 120 }, asAdmin());
    const second = graced.data!.rotateApiKey.secret;
    secrets.push(second);
    expect(second).not.toBe(first);
    expect(Date.parse(graced.data!.rotateApiKey.apiKey.previousSecretValidUntil!)).toBeGreaterThan(Date.now() + 100_000);
    expect((await gql(viewerQuery, {}, bearer(first))).errors).toBeUndefined();
    expect((await gql(viewerQuery, {}, bearer(second))).errors).toBeUndefined();

    const immediate = await gql<{ rotateApiKey: { secret: string; apiKey: { previousSecretValidUntil: string | null } } }>(rotateKey, { id: apiKey.id }, asAdmin());
    const third = immediate.data!.rotateApiKey.secret;
    secrets.push(third);
    expect(immediate.data!.rotateApiKey.apiKey.previousSecretValidUntil).toBeNull();
    for (const old of [first, second]) {
      const refused = await gql(viewerQuery, {}, bearer(old));
      expect(refused.status).toBe(401);
    }
    expect((await gql(viewerQuery, {}, bearer(second))).errors?.[0]?.message).toMatch(/rotated/);
    expect((await gql<{ viewer: { apiKeyId: string } }>(viewerQuery, {}, bearer(third))).data?.viewer.apiKeyId).toBe(apiKey.id);
  });

  it('accepts dashboard JWTs and applies their role', async () => {
    const admin = await gql(viewerQuery, {}, bearer(await jwt({})));
    expect(admin.data?.viewer).toEqual({ kind: 'USER', tenantId: tenantA, apiKeyId: null, scopes: [], role: 'admin', userId: 'dash-user-1' });
    const byAdmin = await gql<{ createApiKey: CreatedKey }>(createKey, { input: { tenantId: tenantA, name: 'from dashboard', scopes: ['INFERENCE'] } }, bearer(await jwt({})));
    expect(byAdmin.errors).toBeUndefined();
    secrets.push(byAdmin.data!.createApiKey.secret);
    expect(byAdmin.data?.createApiKey.apiKey.scopes).toEqual(['INFERENCE']);

    const member = await gql(createKey, { input: { tenantId: tenantA, name: 'nope' } }, bearer(await jwt({ role: 'member' })));
    expect(member.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(member.data ?? null).toBeNull();
    const memberViewer = await gql<{ viewer: { role: string } }>(viewerQuery, {}, bearer(await jwt({ role: 'member' })));
    expect(memberViewer.data?.viewer.role).toBe('member');
  });

  it('refuses expired, foreign and unsigned JWTs with 401', async () => {
    const cases: [string, RegExp][] = [
      [await jwt({}, { expiresIn: -10 }), /this token expired at/],
      [await jwt({}, { iss: 'https://evil.test' }), /issuer/],
      [await jwt({}, { aud: 'another-app' }), /audience/],
      [new UnsecuredJWT({ sub: 'x', tid: tenantA, role: 'admin', iss: issuer, aud: audience }).setExpirationTime('5m').encode(), /alg "none"/],
    ];
    for (const [token, message] of cases) {
      const refused = await gql(viewerQuery, {}, bearer(token));
      expect(refused.status).toBe(401);
      expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(refused.errors?.[0]?.message).toMatch(message);
    }
  });

  it("refuses a tenant's credentials naming another tenant with X-Tenant-ID (403)", async () => {
    const { secret } = await newKey({ tenantId: tenantA, name: 'a-key', scopes: ['ADMIN', 'INFERENCE'] });
    const withB = await gql(viewerQuery, {}, { ...bearer(secret), 'x-tenant-id': tenantB });
    expect(withB.status).toBe(403);
    expect(withB.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const jwtWithB = await gql(viewerQuery, {}, { ...bearer(await jwt({})), 'x-tenant-id': tenantB });
    expect(jwtWithB.status).toBe(403);
    const withA = await gql(viewerQuery, {}, { ...bearer(secret), 'x-tenant-id': tenantA, 'x-plan-tier': 'enterprise' });
    expect(withA.errors).toBeUndefined();
  });

  it("shows another tenant's tenant and keys as NOT_FOUND, never their data", async () => {
    const { secret: adminOfA } = await newKey({ tenantId: tenantA, name: 'a-admin', scopes: ['ADMIN'] });
    const { apiKey: keyOfB, secret: secretOfB } = await newKey({ tenantId: tenantB, name: 'b-key' });

    const tenant = await gql('query($id: ID!) { tenant(id: $id) { id name } }', { id: tenantB }, bearer(adminOfA));
    expect(tenant.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(tenant.data?.tenant ?? null).toBeNull();
    expect(JSON.stringify(tenant)).not.toContain('Globex');

    const revoke = await gql(revokeKey, { id: keyOfB.id }, bearer(adminOfA));
    expect(revoke.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(revoke.data ?? null).toBeNull();
    const rotate = await gql(rotateKey, { id: keyOfB.id }, bearer(await jwt({})));
    expect(rotate.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const lookup = await gql('query($id: ID!) { apiKey(id: $id) { name } }', { id: keyOfB.id }, bearer(adminOfA));
    expect(lookup.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(JSON.stringify(lookup)).not.toContain('b-key');
    // B's key still works: nothing happened to it.
    expect((await gql(viewerQuery, {}, bearer(secretOfB))).errors).toBeUndefined();
  });

  it('lets the platform act for an existing tenant only, recording X-User-ID', async () => {
    const acting = await gql(viewerQuery, {}, { ...asAdmin(tenantB), 'x-user-id': 'support-42' });
    expect(acting.data?.viewer).toMatchObject({ kind: 'PLATFORM_ADMIN', tenantId: tenantB, userId: 'support-42' });
    const unknown = await gql(viewerQuery, {}, asAdmin('tnt_doesnotexist'));
    expect(unknown.status).toBe(404);
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it("lists a tenant's keys in pages, without secrets, with last use recorded in batches", async () => {
    const tenantC = await newTenant('Initech');
    const created: CreatedKey[] = [];
    for (const name of ['one', 'two', 'three']) created.push(await newKey({ tenantId: tenantC, name }));
    await gql(viewerQuery, {}, bearer(created[1]!.secret));
    await gateway.app.deps.auth.flushLastUsed();

    const page = `query($id: ID!, $after: String) { tenant(id: $id) { apiKeys(first: 2, after: $after) {
      edges { node { id name prefix lastUsedAt status } } pageInfo { hasNextPage endCursor } } } }`;
    type Page = { tenant: { apiKeys: { edges: { node: { id: string; name: string; lastUsedAt: string | null } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } } };
    const first = await gql<Page>(page, { id: tenantC }, asAdmin());
    expect(first.data?.tenant.apiKeys.edges.map((e) => e.node.name)).toEqual(['one', 'two']);
    expect(first.data?.tenant.apiKeys.pageInfo.hasNextPage).toBe(true);
    expect(first.data?.tenant.apiKeys.edges[1]?.node.lastUsedAt).not.toBeNull();
    expect(first.data?.tenant.apiKeys.edges[0]?.node.lastUsedAt).toBeNull();
    const second = await gql<Page>(page, { id: tenantC, after: first.data?.tenant.apiKeys.pageInfo.endCursor }, asAdmin());
    expect(second.data?.tenant.apiKeys.edges.map((e) => e.node.name)).toEqual(['three']);

    const asMember = await gql(page, { id: tenantA }, bearer(await jwt({ role: 'member' })));
    expect(asMember.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const secretField = await gql(`query($id: ID!) { apiKey(id: $id) { secret } }`, { id: created[0]!.apiKey.id }, asAdmin());
    expect(secretField.status).toBe(400);
  });

  /** A graphql-ws client opened with `secret`, once its first operation (viewer) answered. */
  const openSocket = async (secret: string) => {
    const client: Client = createClient({
      url: `${gateway.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${secret}` },
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => {},
    });
    const viewer = await new Promise<unknown>((resolve) => {
      client.subscribe({ query: '{ viewer { kind } }' }, { next: resolve, error: resolve, complete: () => {} });
    });
    return { client, viewer };
  };
  /** A subscription that would run for ever: resolves with how and when the socket ended it. */
  const untilClosed = (client: Client) =>
    new Promise<{ code: number; reason: string; at: number }>((resolve) => {
      client.subscribe(
        { query: 'subscription { quotaUpdated { state } }' },
        { next: () => {}, error: (event) => resolve({ code: (event as CloseEvent).code, reason: (event as CloseEvent).reason, at: Date.now() }), complete: () => resolve({ code: 0, reason: 'completed', at: Date.now() }) },
      );
    });

  it('closes a graphql-ws socket with 4403 when its token expires, ending its subscriptions', async () => {
    const token = await jwt({}, { expiresIn: 2 });
    const expiresAt = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp * 1000;
    const { client, viewer } = await openSocket(token);
    try {
      expect(viewer).toEqual({ data: { viewer: { kind: 'USER' } } });
      // It ends when the token does.
      const ended = await untilClosed(client);
      expect(ended).toMatchObject({ code: 4403, reason: 'Forbidden: the token expired' });
      expect(ended.at).toBeGreaterThanOrEqual(expiresAt);
      expect(ended.at - expiresAt).toBeLessThan(1_000);
    } finally {
      await client.dispose();
    }
  });

  it("closes a graphql-ws socket opened with a key's secret when that secret's grace period after a rotation ends", async () => {
    const { apiKey, secret } = await newKey({ tenantId: tenantA, name: 'rotated-under-a-socket' });
    const { client, viewer } = await openSocket(secret);
    try {
      expect(viewer).toEqual({ data: { viewer: { kind: 'API_KEY' } } });
      const ended = untilClosed(client);
      await new Promise((resolve) => setTimeout(resolve, 100));
      // Rotated while the socket is open: its secret keeps working for 2 s, and the socket with it.
      const rotated = await gql<{ rotateApiKey: { secret: string; apiKey: { previousSecretValidUntil: string } } }>(rotateKey, { id: apiKey.id, grace: 2 }, asAdmin());
      secrets.push(rotated.data!.rotateApiKey.secret);
      const validUntil = Date.parse(rotated.data!.rotateApiKey.apiKey.previousSecretValidUntil);
      const closed = await ended;
      expect(closed).toMatchObject({ code: 4403, reason: 'Forbidden: the API key secret is no longer accepted' });
      expect(closed.at).toBeGreaterThanOrEqual(validUntil);
      expect(closed.at - validUntil).toBeLessThan(1_000);
    } finally {
      await client.dispose();
    }
  });

  it('never writes a secret to the log', async () => {
    expect(secrets.length).toBeGreaterThan(5);
    expect(gateway.logs.length).toBeGreaterThan(0);
    for (const secret of [...secrets, testAdminKey, jwtSecret]) {
      expect(gateway.logs.filter((line) => line.includes(secret))).toEqual([]);
    }
  });
});
