import { SignJWT } from 'jose';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { randomId } from '../../src/shared/ids.ts';
import { asAdmin, bearer, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';
import { serviceUrl } from '../testkit/services.ts';
import { sqlDialects, type TestSqlDatabase } from '../testkit/sql-databases.ts';

// Two instances sharing Postgres and Redis: the platform suspends a tenant on one, and the other refuses
// the tenant's keys and sessions within a second, closes its sockets and lets its streams finish.

const redisUrl = serviceUrl('REDIS');
const postgres = sqlDialects().find((dialect) => dialect.name === 'postgres');
const jwtSecret = 'suspension-dashboard-jwt-secret-0123456789';

describe.runIf(redisUrl && postgres)('suspending a tenant across two instances', () => {
  let upstream: FakeUpstream;
  let database: TestSqlDatabase;
  let a: TestApp;
  let b: TestApp;
  const messages = [{ role: 'user' as const, content: 'Keep talking' }];

  const gql = async <T,>(app: TestApp, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = asAdmin()) => {
    const result = await graphqlRequest<T>(app.url, query, variables, headers);
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    return result.data as T;
  };
  const chat = (app: TestApp, apiKey: string, headers: Record<string, string> = {}) =>
    new OpenAI({ baseURL: `${app.url}/v1`, apiKey, maxRetries: 0, defaultHeaders: headers }).chat.completions.create({ model: 'chat-model', messages });
  const outcome = (call: Promise<unknown>) =>
    call.then(
      () => 'ok',
      (error: unknown) => (error instanceof OpenAI.APIError ? `${error.status}:${(error.error as { code?: string } | undefined)?.code}` : `thrown:${String(error)}`),
    );
  /** Polls until `check` answers `expected`; resolves with how long that took. */
  const within = async (check: () => Promise<string>, expected: string, limitMs: number) => {
    const started = performance.now();
    for (;;) {
      const got = await check();
      if (got === expected) return performance.now() - started;
      if (performance.now() - started > limitMs) throw new Error(`still "${got}" after ${limitMs} ms, expected "${expected}"`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 3 } });
    database = await postgres!.create();
    const options = {
      databaseUrl: database.databaseUrl,
      redisUrl,
      inference: {
        providers: [{ name: 'gpu', type: 'openai' as const, baseUrl: upstream.openaiBaseUrl }],
        models: [
          { name: 'chat-model', kind: 'chat' as const, deployments: [{ provider: 'gpu', model: 'upstream', weight: 1 }] },
          { name: 'slow-stream-model', kind: 'chat' as const, deployments: [{ provider: 'gpu', model: 'upstream?tokens=20&token-delay-ms=50', weight: 1 }] },
        ],
      },
      config: { auth: { jwtSecret }, limits: { keyPrefix: `test:suspend:${randomId(8)}:` } },
    };
    a = await startTestApp(options);
    b = await startTestApp(options);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await database?.dispose();
    await upstream?.close();
  });

  it('refuses every key and session of a suspended tenant on every instance, closes its sockets, finishes its streams, and keeps its usage', async () => {
    const tenantId = (await gql<{ createTenant: { tenant: { id: string } } }>(a, 'mutation { createTenant(input: { name: "Suspended", plan: "pro" }) { tenant { id } } }')).createTenant.tenant.id;
    const secret = (
      await gql<{ createApiKey: { secret: string } }>(a, 'mutation($t: ID!) { createApiKey(input: { tenantId: $t, name: "k" }) { secret } }', { t: tenantId })
    ).createApiKey.secret;
    b.secrets.add(secret);
    const session = await new SignJWT({ tid: tenantId, role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('user-1').setExpirationTime('10m').sign(new TextEncoder().encode(jwtSecret));
    const other = (await gql<{ createTenant: { tenant: { id: string } } }>(a, 'mutation { createTenant(input: { name: "Bystander" }) { tenant { id } } }')).createTenant.tenant.id;

    // B has verified the key, the session and the tenant.
    expect(await outcome(chat(b, secret))).toBe('ok');
    expect((await graphqlRequest(b.url, '{ viewer { kind } }', {}, bearer(session))).errors).toBeUndefined();
    // A socket on B with a live subscription, and a stream on B still running when the suspension lands.
    const socket = new WebSocket(`${b.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
    const acknowledged = new Promise<void>((resolve) =>
      socket.on('message', (data) => {
        if (JSON.parse(String(data)).type !== 'connection_ack') return;
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { quotaUpdated { used } }' } }));
        resolve();
      }),
    );
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${secret}` } })));
    await acknowledged;
    const stream = await new OpenAI({ baseURL: `${b.url}/v1`, apiKey: secret, maxRetries: 0 }).chat.completions.create({ model: 'slow-stream-model', messages, stream: true });
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);

    const suspended = await gql<{ suspendTenant: { tenant: { id: string; status: string } } }>(a, 'mutation($id: ID!) { suspendTenant(id: $id) { tenant { id status } } }', { id: tenantId });
    expect(suspended.suspendTenant.tenant).toEqual({ id: tenantId, status: 'suspended' });
    const tookMs = await within(() => outcome(chat(b, secret)), '403:tenant_suspended', 1_000);
    expect(tookMs).toBeLessThan(1_000);

    // Every way in is refused, on both instances; another tenant is untouched.
    for (const app of [a, b]) {
      expect(await outcome(chat(app, secret))).toBe('403:tenant_suspended');
      expect(await outcome(chat(app, testAdminKey, { 'x-tenant-id': tenantId }))).toBe('403:tenant_suspended');
      expect(await outcome(chat(app, testAdminKey, { 'x-tenant-id': other }))).toBe('ok');
      for (const credential of [secret, session]) {
        const refused = await graphqlRequest(app.url, '{ viewer { kind } }', {}, bearer(credential));
        expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'tenant_suspended' });
      }
      const viaPlatform = await graphqlRequest(app.url, 'mutation { createChatCompletion(input: { model: "chat-model", messages: [{ role: "user", content: "hi" }] }) { content } }', {}, asAdmin(tenantId));
      expect(viaPlatform.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'tenant_suspended' });
    }
    // The platform still sees and manages it.
    expect((await gql<{ tenant: { status: string } }>(b, 'query($id: ID!) { tenant(id: $id) { status } }', { id: tenantId })).tenant.status).toBe('suspended');

    // The socket was closed; the stream in flight ran to its end.
    expect(await closed).toMatchObject({ code: 4403, reason: expect.stringMatching(/suspended/) });
    let content = first.value!.choices[0]?.delta.content ?? '';
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) content += next.value.choices[0]?.delta.content ?? '';
    expect(content.trim().split(/\s+/)).toHaveLength(20);

    // Its usage is kept: both served requests are stored.
    await b.app.deps.usageMeter.flush();
    const events = await b.app.deps.usageStore.events({ tenantId, range: null, filter: {}, limit: 100, after: null });
    expect(events.filter((event) => event.status === 'ok').map((event) => event.requestedModel).sort()).toEqual(['chat-model', 'slow-stream-model']);

    const reactivated = await gql<{ reactivateTenant: { tenant: { status: string } } }>(b, 'mutation($id: ID!) { reactivateTenant(id: $id) { tenant { status } } }', { id: tenantId });
    expect(reactivated.reactivateTenant.tenant.status).toBe('active');
    expect(await within(() => outcome(chat(a, secret)), 'ok', 1_000)).toBeLessThan(1_000);
    expect((await graphqlRequest(a.url, '{ viewer { kind } }', {}, bearer(session))).errors).toBeUndefined();

    const audit = await a.app.deps.db.db.selectFrom('audit_log').select(['action', 'actor_type']).where('tenant_id', '=', tenantId).where('action', 'like', 'tenant.%').orderBy('created_at').execute();
    expect(audit.map((row) => row.action)).toEqual(['tenant.create', 'tenant.suspend', 'tenant.reactivate']);
    expect(new Set(audit.map((row) => row.actor_type))).toEqual(new Set(['platform']));
  });

  it('answers NOT_FOUND for a tenant that does not exist, and FORBIDDEN to anyone but the platform', async () => {
    const missing = await graphqlRequest(a.url, 'mutation { suspendTenant(id: "tnt_nosuchtenant") { tenant { id } } }', {}, asAdmin());
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const tenantId = (await gql<{ createTenant: { tenant: { id: string } } }>(a, 'mutation { createTenant(input: { name: "Self" }) { tenant { id } } }')).createTenant.tenant.id;
    const secret = (
      await gql<{ createApiKey: { secret: string } }>(a, 'mutation($t: ID!) { createApiKey(input: { tenantId: $t, name: "admin", scopes: [ADMIN] }) { secret } }', { t: tenantId })
    ).createApiKey.secret;
    const own = await graphqlRequest(a.url, 'mutation($id: ID!) { reactivateTenant(id: $id) { tenant { id } } }', { id: tenantId }, bearer(secret));
    expect(own.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
