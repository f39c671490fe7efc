import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { asAdmin, bearer, graphqlRequest, startTestApp, type TestApp } from '../testkit/app.ts';
import { sqlDialects, type TestSqlDatabase } from '../testkit/sql-databases.ts';

describe.each(sqlDialects())('gateway foundation on $name', (dialect) => {
  let database: TestSqlDatabase;
  let gateway: TestApp;

  beforeAll(async () => {
    database = await dialect.create();
    gateway = await startTestApp({ databaseUrl: database.databaseUrl });
  });
  afterAll(async () => {
    await gateway?.stop();
    await database?.dispose();
  });

  it('answers liveness and readiness naming each dependency', async () => {
    const healthz = await fetch(`${gateway.url}/healthz`);
    const health = await fetch(`${gateway.url}/health`);
    expect([health.status, await health.json()]).toEqual([healthz.status, await healthz.json()]);
    expect(healthz.status).toBe(200);
    const ready = await fetch(`${gateway.url}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { checks: { name: string; ok: boolean }[] };
    expect(body.checks).toEqual([expect.objectContaining({ name: dialect.name, ok: true })]);
  });

  it('serves the seeded plans of the contract', async () => {
    const result = await graphqlRequest<{ plans: Record<string, unknown>[] }>(
      gateway.url,
      '{ plans { id currency monthlyPrice monthlyTokens requestsPerMinute tokensPerMinute hardQuota } }',
    );
    expect(result.errors).toBeUndefined();
    expect(result.data?.plans).toEqual([
      { id: 'free', currency: 'GBP', monthlyPrice: '0.00', monthlyTokens: 100_000, requestsPerMinute: 10, tokensPerMinute: 10_000, hardQuota: true },
      { id: 'starter', currency: 'GBP', monthlyPrice: '39.00', monthlyTokens: 5_000_000, requestsPerMinute: 60, tokensPerMinute: 100_000, hardQuota: false },
      { id: 'pro', currency: 'GBP', monthlyPrice: '149.00', monthlyTokens: 25_000_000, requestsPerMinute: 120, tokensPerMinute: 200_000, hardQuota: false },
      { id: 'enterprise', currency: 'GBP', monthlyPrice: '499.00', monthlyTokens: 100_000_000, requestsPerMinute: 300, tokensPerMinute: 1_000_000, hardQuota: false },
    ]);
  });

  it('creates tenants and pages through them with cursors', async () => {
    const names = ['Acme', 'Globex', 'Initech'];
    for (const name of names) {
      const created = await graphqlRequest(gateway.url, 'mutation($name: String!) { createTenant(input: { name: $name, plan: "starter" }) { tenant { id plan { id } } } }', { name }, asAdmin());
      expect(created.errors).toBeUndefined();
    }
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 5; page += 1) {
      const result: Awaited<ReturnType<typeof graphqlRequest<{ tenants: { edges: { node: { name: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } }>>> =
        await graphqlRequest(gateway.url, 'query($after: String) { tenants(first: 2, after: $after) { edges { node { name } } pageInfo { hasNextPage endCursor } } }', { after }, asAdmin());
      const connection = result.data!.tenants;
      seen.push(...connection.edges.map((e) => e.node.name));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(seen).toEqual(names);
  });

  it('refuses an unknown plan and names it', async () => {
    const result = await graphqlRequest(gateway.url, 'mutation { createTenant(input: { name: "X", plan: "platinum" }) { tenant { id } } }', {}, asAdmin());
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0]?.message).toContain('platinum');
  });

  it('tells anonymous, wrong and unauthorised callers apart', async () => {
    const anonymous = await graphqlRequest(gateway.url, '{ tenants(first: 1) { edges { cursor } } }');
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const wrong = await graphqlRequest(gateway.url, '{ viewer { kind } }', {}, bearer('not-a-real-secret'));
    expect(wrong.status).toBe(401);
    expect(wrong.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const viewer = await graphqlRequest<{ viewer: { kind: string } }>(gateway.url, '{ viewer { kind } }', {}, asAdmin());
    expect(viewer.data?.viewer.kind).toBe('PLATFORM_ADMIN');
  });

  it('answers bad documents and malformed JSON with clear errors', async () => {
    const invalid = await graphqlRequest(gateway.url, '{ plans { nope } }');
    expect(invalid.status).toBe(400);
    expect(invalid.errors?.[0]?.message).toContain('nope');
    const malformed = await fetch(`${gateway.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(malformed.status).toBe(400);
    const body = (await malformed.json()) as { errors: { message: string }[] };
    expect(body.errors[0]?.message).toMatch(/JSON/i);
  });

  it('echoes a sane X-Request-ID and mints one otherwise', async () => {
    const echoed = await fetch(`${gateway.url}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
    expect(echoed.headers.get('x-request-id')).toBe('abc-123');
    const replaced = await fetch(`${gateway.url}/healthz`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
  });

  it('sends the X-Request-ID once, however the response writes its head', async () => {
    const headers = { 'x-request-id': 'abc-123', 'content-type': 'application/json' };
    const answers = await Promise.all([
      fetch(`${gateway.url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query: '{ plans { id } }' }) }),
      fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers, body: '{}' }),
      fetch(`${gateway.url}/no-such-page`, { headers }),
      fetch(`${gateway.url}/v1/chat/completions`, { method: 'PUT', headers }),
      fetch(`${gateway.url}/metrics`, { headers }),
    ]);
    expect(answers.map((answer) => [answer.status, answer.headers.get('x-request-id')])).toEqual([
      [200, 'abc-123'],
      [401, 'abc-123'],
      [404, 'abc-123'],
      [405, 'abc-123'],
      [200, 'abc-123'],
    ]);
  });

  it('serves GraphQL over graphql-ws with credentials in connectionParams', async () => {
    const client = createClient({ url: gateway.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: asAdmin().authorization }, retryAttempts: 0 });
    try {
      const result = await new Promise((resolve, reject) => {
        client.subscribe({ query: '{ viewer { kind } plans { id } }' }, { next: resolve, error: reject, complete: () => {} });
      });
      expect(result).toEqual({ data: { viewer: { kind: 'PLATFORM_ADMIN' }, plans: [{ id: 'free' }, { id: 'starter' }, { id: 'pro' }, { id: 'enterprise' }] } });
    } finally {
      await client.dispose();
    }
  });

  it('gives a bad document the same code over graphql-ws as over HTTP', async () => {
    const http = await graphqlRequest(gateway.url, '{ plans { nope } }', {}, asAdmin());
    const client = createClient({ url: gateway.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: asAdmin().authorization }, retryAttempts: 0 });
    try {
      const wsErrors = await new Promise<{ message: string; extensions?: { code?: string } }[]>((resolve) => {
        client.subscribe({ query: '{ plans { nope } }' }, { next: () => {}, error: (errors) => resolve(errors as never), complete: () => {} });
      });
      expect(wsErrors[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(http.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(wsErrors[0]?.message).toBe(http.errors?.[0]?.message);
    } finally {
      await client.dispose();
    }
  });

  it('closes a graphql-ws connection with bad credentials with 4403', async () => {
    const closeCode = await new Promise<number>((resolve) => {
      const client = createClient({
        url: gateway.url.replace('http', 'ws') + '/graphql',
        webSocketImpl: WebSocket,
        connectionParams: { authorization: 'Bearer wrong-secret' },
        retryAttempts: 0,
        on: { closed: (event) => resolve((event as { code: number }).code) },
      });
      client.subscribe({ query: '{ viewer { kind } }' }, { next: () => {}, error: () => {}, complete: () => {} });
    });
    expect(closeCode).toBe(4403);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const response = await fetch(`${gateway.url}/nope`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain('/nope');
  });
});
