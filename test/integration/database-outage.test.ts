import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { asAdmin, bearer, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';
import { serviceUrl } from '../testkit/services.ts';
import { sqlDialects, type TestSqlDatabase } from '../testkit/sql-databases.ts';
import { startTcpProxy, type TcpProxy } from '../testkit/tcp-proxy.ts';

// Two instances whose only way to Postgres is a TCP proxy the test cuts, as an outage would; Redis stays
// up. What they verified before the cut keeps being served; what needs the database is refused with 503.

const redisUrl = serviceUrl('REDIS');
const postgres = sqlDialects().find((dialect) => dialect.name === 'postgres');

describe.runIf(redisUrl && postgres)('a Postgres outage under two instances', () => {
  let upstream: FakeUpstream;
  let database: TestSqlDatabase;
  let proxy: TcpProxy;
  let a: TestApp;
  let b: TestApp;
  let warmTenant: string;
  let warmSecret: string;
  let coldSecret: string;
  const messages = [{ role: 'user' as const, content: 'Are you still there?' }];

  const gql = async <T,>(app: TestApp, query: string, variables: Record<string, unknown> = {}, headers = asAdmin()) => {
    const result = await graphqlRequest<T>(app.url, query, variables, headers);
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    return result.data as T;
  };
  const createTenant = async (name: string) =>
    (await gql<{ createTenant: { tenant: { id: string } } }>(a, 'mutation($n: String!) { createTenant(input: { name: $n, plan: "pro" }) { tenant { id } } }', { n: name }))
      .createTenant.tenant.id;
  const createKey = async (tenantId: string) =>
    (await gql<{ createApiKey: { secret: string } }>(a, 'mutation($t: ID!) { createApiKey(input: { tenantId: $t, name: "outage" }) { secret } }', { t: tenantId }))
      .createApiKey.secret;
  const chat = (app: TestApp, apiKey: string, headers: Record<string, string> = {}) =>
    new OpenAI({ baseURL: `${app.url}/v1`, apiKey, maxRetries: 0, defaultHeaders: headers }).chat.completions.create({ model: 'chat-model', messages });
  /** The HTTP status and OpenAI error code of a call, "200" when it succeeded. */
  const outcome = (call: Promise<unknown>) =>
    call.then(
      () => '200',
      (error: unknown) => (error instanceof OpenAI.APIError ? `${error.status}:${(error.error as { code?: string } | undefined)?.code}` : `thrown:${String(error)}`),
    );

  /** How a graphql-ws connection opened with `secret` is closed by the server. */
  const socketClose = (app: TestApp, secret: string) =>
    new Promise<{ code: number; reason: string }>((resolve, reject) => {
      const socket = new WebSocket(`${app.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${secret}` } })));
      socket.on('message', (data) => {
        if (JSON.parse(String(data)).type === 'connection_ack') socket.close(1000, 'acknowledged');
      });
      socket.on('close', (code, reason) => resolve({ code, reason: String(reason) }));
      socket.on('error', reject);
    });

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 3 } });
    database = await postgres!.create();
    const server = new URL(database.databaseUrl!);
    proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
    const options = {
      databaseUrl: proxy.url(database.databaseUrl!),
      redisUrl,
      inference: {
        providers: [{ name: 'gpu', type: 'openai' as const, baseUrl: upstream.openaiBaseUrl }],
        models: [{ name: 'chat-model', kind: 'chat' as const, deployments: [{ provider: 'gpu', model: 'upstream', weight: 1 }] }],
      },
      config: { storage: { databaseOutageGraceMs: 120_000 }, limits: { keyPrefix: `test:outage:${Date.now()}:` } },
    };
    a = await startTestApp(options);
    b = await startTestApp(options);
    warmTenant = await createTenant('Warm');
    warmSecret = await createKey(warmTenant);
    coldSecret = await createKey(await createTenant('Cold'));
  });
  afterAll(async () => {
    proxy?.setMode('pass');
    await a?.stop();
    await b?.stop();
    await proxy?.close();
    await database?.dispose();
    await upstream?.close();
  });

  it('serves verified keys and tenants through the outage, refuses the rest with 503, and never answers 500', async () => {
    for (const app of [a, b]) {
      expect(await outcome(chat(app, warmSecret))).toBe('200');
      expect(await outcome(chat(app, testAdminKey, { 'x-tenant-id': warmTenant }))).toBe('200');
    }

    proxy.setMode('refuse');
    const outcomes: Record<string, string[]> = { warm: [], platform: [], cold: [] };
    // Past every few-second cache of the request path (routing settings: 5 s, limits: 1 s).
    const until = Date.now() + 6_500;
    while (Date.now() < until) {
      for (const app of [a, b]) {
        outcomes.warm!.push(await outcome(chat(app, warmSecret)));
        outcomes.platform!.push(await outcome(chat(app, testAdminKey, { 'x-tenant-id': warmTenant })));
        outcomes.cold!.push(await outcome(chat(app, coldSecret)));
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(new Set(outcomes.warm)).toEqual(new Set(['200']));
    expect(new Set(outcomes.platform)).toEqual(new Set(['200']));
    expect(new Set(outcomes.cold)).toEqual(new Set(['503:service_unavailable']));

    const refused = await fetch(`${b.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${coldSecret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat-model', messages }),
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/database is unreachable/);

    // GraphQL: what reads the database says UNAVAILABLE, over the key that is still served as over the admin key.
    for (const headers of [bearer(warmSecret), asAdmin()]) {
      const result = await graphqlRequest(b.url, 'query($id: ID!) { tenant(id: $id) { id name apiKeys(first: 5) { edges { node { id } } } } }', { id: warmTenant }, headers);
      expect(result.errors?.map((error) => error.extensions?.code)).toEqual(['UNAVAILABLE']);
      expect(result.errors?.[0]?.message).toMatch(/database is unreachable/);
    }
    const mutation = await graphqlRequest(a.url, 'mutation { createTenant(input: { name: "During" }) { tenant { id } } }', {}, asAdmin());
    expect(mutation.errors?.map((error) => error.extensions?.code)).toEqual(['UNAVAILABLE']);
    const coldGraphql = await graphqlRequest(a.url, '{ viewer { kind } }', {}, bearer(coldSecret));
    expect(coldGraphql.errors?.map((error) => error.extensions?.code)).toEqual(['UNAVAILABLE']);
    // graphql-ws: a verified key is acknowledged; one that cannot be checked now is told to try again later.
    expect(await socketClose(a, warmSecret)).toEqual({ code: 1000, reason: 'acknowledged' });
    expect(await socketClose(a, coldSecret)).toEqual({ code: 1013, reason: 'the database is unreachable; retry shortly' });
    for (const app of [a, b]) expect(app.logs.join('\n')).not.toMatch(/unexpected error/i);

    proxy.setMode('pass');
    for (const app of [a, b]) expect(await outcome(chat(app, coldSecret))).toBe('200');
  });
});
