import { SignJWT } from 'jose';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CreateApiKeyDocument, CreateTenantDocument, RevokeApiKeyDocument } from '../../client/src/generated/graphql.ts';
import { ConsoleSessionService } from '../../src/modules/console-session/console-session.service.ts';
import type { Clock } from '../../src/shared/clock.ts';
import { adminClient, graphqlRequest, startTestApp, testAdminKey, testSecret, type TestApp } from '../testkit/app.ts';
import { sqlDialects, type TestSqlDatabase } from '../testkit/sql-databases.ts';

const jwtSecret = 'console-session-jwt-secret-0123456789abcdef';
const noCredentials = { authorization: undefined, tenantId: undefined, userId: undefined };

describe.each(sqlDialects())('console sessions ($name)', (dialect) => {
  let database: TestSqlDatabase;
  let gateway: TestApp;
  let tenantId: string;

  const signIn = (secret: string, headers: Record<string, string> = {}) =>
    fetch(`${gateway.url}/console/session`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ secret }) });
  const tokenOf = (response: Response) => /tollgate_session=([^;]+)/.exec(response.headers.get('set-cookie') ?? '')?.[1];
  const viewer = (token: string) => graphqlRequest<{ viewer: { kind: string; apiKeyId: string | null } }>(gateway.url, '{ viewer { kind apiKeyId } }', {}, { cookie: `tollgate_session=${token}` });
  const newKey = async (scopes: ('ADMIN' | 'USAGE_READ' | 'INFERENCE')[]) => {
    const { createApiKey } = await adminClient(gateway.url).execute(CreateApiKeyDocument, { input: { tenantId, name: 'console', scopes } });
    gateway.secrets.add(createApiKey.secret);
    return createApiKey;
  };

  beforeAll(async () => {
    database = await dialect.create();
    gateway = await startTestApp({ databaseUrl: database.databaseUrl, config: { auth: { jwtSecret } } });
    tenantId = (await adminClient(gateway.url).execute(CreateTenantDocument, { input: { name: 'Session Co' } })).createTenant.tenant.id;
  });
  afterAll(async () => {
    await gateway?.stop();
    await database?.dispose();
  });

  it('answers a sign-in with an HttpOnly, SameSite=Strict cookie, Secure behind https, and never the secret', async () => {
    const plain = await signIn(testAdminKey);
    expect(plain.status).toBe(200);
    const cookie = plain.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^tollgate_session=[\w.-]+; Path=\/; Max-Age=900; HttpOnly; SameSite=Strict$/);
    expect(cookie + (await plain.text())).not.toContain(testAdminKey);
    const secure = await signIn(testAdminKey, { 'x-forwarded-proto': 'https' });
    expect(secure.headers.get('set-cookie')).toMatch(/; HttpOnly; SameSite=Strict; Secure$/);
  });

  it('refuses a sign-in from another origin, without JSON, with a wrong secret or with a key the console cannot use', async () => {
    const crossSite = await signIn(testAdminKey, { origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    expect(tokenOf(crossSite)).toBeUndefined();
    const form = await fetch(`${gateway.url}/console/session`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `secret=${testAdminKey}` });
    expect(form.status).toBe(400);
    const wrong = await signIn('not-the-admin-key-at-all');
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED', requestId: expect.stringMatching(/^req_/) } });
    const inferenceOnly = await newKey(['INFERENCE']);
    const refused = await signIn(inferenceOnly.secret);
    expect(refused.status).toBe(401);
    expect((await refused.json()).error.message).toContain('neither the "admin" nor the "usage:read" scope');
  });

  it("refuses a suspended tenant's dashboard users, signed in or signing in, until it is reactivated", async () => {
    const jwt = await new SignJWT({ tid: tenantId, role: 'member' }).setProtectedHeader({ alg: 'HS256' }).setSubject('usr_suspended').setExpirationTime('10m').sign(new TextEncoder().encode(jwtSecret));
    const token = tokenOf(await signIn(jwt))!;
    expect((await viewer(token)).data?.viewer.kind).toBe('USER');
    const admin = { authorization: `Bearer ${testAdminKey}` };
    await graphqlRequest(gateway.url, 'mutation($id: ID!) { suspendTenant(id: $id) { tenant { status } } }', { id: tenantId }, admin);
    try {
      expect((await viewer(token)).errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'tenant_suspended' });
      expect((await signIn(jwt)).status).toBe(403);
    } finally {
      await graphqlRequest(gateway.url, 'mutation($id: ID!) { reactivateTenant(id: $id) { tenant { status } } }', { id: tenantId }, admin);
    }
    expect((await viewer(token)).data?.viewer.kind).toBe('USER');
  });

  it('accepts the cookie on GraphQL only: /v1 still wants a bearer key', async () => {
    const key = await newKey(['INFERENCE', 'USAGE_READ']);
    const token = tokenOf(await signIn(key.secret))!;
    expect((await viewer(token)).data?.viewer).toEqual({ kind: 'API_KEY', apiKeyId: key.apiKey.id });
    const models = await fetch(`${gateway.url}/v1/models`, { headers: { cookie: `tollgate_session=${token}` } });
    expect(models.status).toBe(401);
  });

  it("ends a key's sessions when the key is revoked, over HTTP and on its graphql-ws sockets", async () => {
    const key = await newKey(['ADMIN']);
    const token = tokenOf(await signIn(key.secret))!;
    const client = createClient({
      url: `${gateway.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: class extends WebSocket {
        constructor(address: string, protocols: string | string[]) {
          super(address, protocols, { headers: { cookie: `tollgate_session=${token}` } });
        }
      },
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => {},
    });
    const closed = new Promise<number>((resolve) => client.on('closed', (event) => resolve((event as { code: number }).code)));
    const first = await new Promise<unknown>((resolve, reject) => client.subscribe({ query: '{ viewer { kind } }' }, { next: (value) => resolve(value.data), error: reject, complete: () => {} }));
    expect(first).toEqual({ viewer: { kind: 'API_KEY' } });
    await adminClient(gateway.url).execute(RevokeApiKeyDocument, { id: key.apiKey.id });
    expect(await closed).toBe(4403);
    const after = await viewer(token);
    expect(after.status).toBe(401);
    expect(after.errors?.[0]?.message).toContain('this API key was revoked');
  });

  it("does not let another site's page use the cookie on a graphql-ws socket", async () => {
    const token = tokenOf(await signIn(testAdminKey))!;
    const socket = new WebSocket(`${gateway.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', { headers: { cookie: `tollgate_session=${token}`, origin: 'https://evil.example' } });
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init' }));
    const code = await new Promise<number>((resolve) => socket.once('close', (closeCode) => resolve(closeCode)));
    expect(code).toBe(4403);
  });

  it('ends the session on sign-out and refuses a token signed with another key', async () => {
    const token = tokenOf(await signIn(testAdminKey))!;
    const out = await fetch(`${gateway.url}/console/session`, { method: 'DELETE', headers: { cookie: `tollgate_session=${token}` } });
    expect(out.headers.get('set-cookie')).toMatch(/^tollgate_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict$/);
    expect((await viewer(token)).status).toBe(401);
    const forged = await new SignJWT({ sid: 'whatever' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('some-other-key-of-thirty-two-bytes!!'));
    expect((await viewer(forged)).status).toBe(401);
  });

  describe('with a clock the test moves', () => {
    let now = Date.now();
    const clock: Clock = { now: () => new Date(now) };
    const sessions = () => new ConsoleSessionService({ db: gateway.app.deps.db.db, auth: gateway.app.deps.auth, secret: testSecret, clock, tokenLifetimeMs: 900_000 });

    it('rotates a token after a third of its life and refuses it once its 15 minutes are over', async () => {
      now = Date.now();
      const service = sessions();
      const { token } = await service.signIn(testAdminKey);
      expect((await service.resolve(token, noCredentials)).renewedToken).toBeUndefined();
      now += 301_000;
      const { renewedToken } = await service.resolve(token, noCredentials);
      expect(renewedToken).toBeDefined();
      now += 700_000;
      await expect(service.resolve(token, noCredentials)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      expect((await service.resolve(renewedToken!, noCredentials)).principal.kind).toBe('platform');
    });

    it('sends a rotated token with the GraphQL answer to a call that presents an aging one', async () => {
      now = Date.now() - 6 * 60_000;
      const { token } = await sessions().signIn(testAdminKey);
      const response = await fetch(`${gateway.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: `tollgate_session=${token}` },
        body: JSON.stringify({ query: '{ viewer { kind } }' }),
      });
      expect(await response.json()).toEqual({ data: { viewer: { kind: 'PLATFORM_ADMIN' } } });
      const rotated = tokenOf(response);
      expect(rotated).toBeDefined();
      expect(rotated).not.toBe(token);
      expect(response.headers.get('set-cookie')).toMatch(/; Max-Age=900; HttpOnly; SameSite=Strict$/);
      expect((await viewer(rotated!)).data?.viewer.kind).toBe('PLATFORM_ADMIN');
    });

    it("ends a dashboard user's session when their JWT expires", async () => {
      now = Date.now();
      const service = sessions();
      const jwt = await new SignJWT({ tid: tenantId, role: 'admin' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('dana')
        .setIssuedAt()
        .setExpirationTime(Math.floor(now / 1000) + 120)
        .sign(new TextEncoder().encode(jwtSecret));
      const { token } = await service.signIn(jwt);
      expect((await service.resolve(token, noCredentials)).principal).toMatchObject({ kind: 'user', userId: 'dana', role: 'admin' });
      now += 121_000;
      await expect(service.resolve(token, noCredentials)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    });
  });
});
