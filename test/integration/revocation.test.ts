import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { asAdmin, bearer, graphqlRequest, startTestApp, type TestApp } from '../testkit/app.ts';
import { describeOnEachRedis } from '../testkit/redis-targets.ts';
import { sqlDialects, type TestSqlDatabase } from '../testkit/sql-databases.ts';

const postgres = sqlDialects().find((d) => d.name === 'postgres');

const viewer = '{ viewer { kind apiKeyId } }';

/** Polls until `secret` is refused on `gateway`; resolves with the refusal and how long it took. */
async function refusedWithin(gateway: TestApp, secret: string, limitMs: number) {
  const started = performance.now();
  for (;;) {
    const result = await graphqlRequest(gateway.url, viewer, {}, bearer(secret));
    if (result.status === 401) return { result, elapsedMs: performance.now() - started };
    if (performance.now() - started > limitMs) throw new Error(`still accepted after ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describeOnEachRedis('API key revocation across instances (Postgres + $name)', postgres !== undefined, ({ url: redisUrl }) => {
  let database: TestSqlDatabase;
  let one: TestApp;
  let two: TestApp;
  let tenantId: string;

  beforeAll(async () => {
    database = await postgres!.create();
    one = await startTestApp({ databaseUrl: database.databaseUrl, redisUrl });
    two = await startTestApp({ databaseUrl: database.databaseUrl, redisUrl });
    const created = await graphqlRequest<{ createTenant: { tenant: { id: string } } }>(
      one.url,
      'mutation { createTenant(input: { name: "Acme" }) { tenant { id } } }',
      {},
      asAdmin(),
    );
    tenantId = created.data!.createTenant.tenant.id;
  });
  afterAll(async () => {
    await one?.stop();
    await two?.stop();
    await database?.dispose();
  });

  const createKey = async () => {
    const result = await graphqlRequest<{ createApiKey: { apiKey: { id: string }; secret: string } }>(
      one.url,
      'mutation($tenantId: ID!) { createApiKey(input: { tenantId: $tenantId, name: "shared" }) { apiKey { id } secret } }',
      { tenantId },
      asAdmin(),
    );
    return result.data!.createApiKey;
  };

  /** Both instances have verified (and cached) the key. */
  const warm = async (secret: string) => {
    for (const gateway of [one, two]) {
      const result = await graphqlRequest(gateway.url, viewer, {}, bearer(secret));
      expect(result.errors).toBeUndefined();
    }
  };

  it('refuses a key revoked on one instance on the other within a second', async () => {
    const { apiKey, secret } = await createKey();
    await warm(secret);
    await graphqlRequest(one.url, 'mutation($id: ID!) { revokeApiKey(id: $id) { apiKey { id } } }', { id: apiKey.id }, asAdmin());
    const { result, elapsedMs } = await refusedWithin(two, secret, 1_000);
    expect(result.errors?.[0]?.message).toBe('this API key was revoked');
    expect(elapsedMs).toBeLessThan(1_000);
    expect((await graphqlRequest(one.url, viewer, {}, bearer(secret))).status).toBe(401);
  });

  it('closes, within a second, the graphql-ws sockets a key revoked on the other instance opened', async () => {
    const { apiKey, secret } = await createKey();
    const client = createClient({ url: `${two.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${secret}` }, retryAttempts: 0, lazy: false, onNonLazyError: () => {} });
    try {
      const ended = new Promise<{ code: number; reason: string; at: number }>((resolve) => {
        client.subscribe(
          { query: 'subscription { quotaUpdated { state } }' },
          { next: () => {}, error: (event) => resolve({ code: (event as CloseEvent).code, reason: (event as CloseEvent).reason, at: performance.now() }), complete: () => resolve({ code: 0, reason: 'completed', at: performance.now() }) },
        );
      });
      await new Promise<void>((resolve) => client.on('connected', () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const revokedAt = performance.now();
      await graphqlRequest(one.url, 'mutation($id: ID!) { revokeApiKey(id: $id) { apiKey { id } } }', { id: apiKey.id }, asAdmin());
      const end = await ended;
      expect(end).toMatchObject({ code: 4403, reason: 'Forbidden: this API key was revoked' });
      expect(end.at - revokedAt).toBeLessThan(1_000);
    } finally {
      await client.dispose();
    }
  });

  it('refuses the old secret of a key rotated on one instance on the other within a second', async () => {
    const { apiKey, secret } = await createKey();
    await warm(secret);
    const rotated = await graphqlRequest<{ rotateApiKey: { secret: string } }>(
      one.url,
      'mutation($id: ID!) { rotateApiKey(id: $id) { secret } }',
      { id: apiKey.id },
      asAdmin(),
    );
    const { result } = await refusedWithin(two, secret, 1_000);
    expect(result.errors?.[0]?.message).toMatch(/rotated/);
    const fresh = await graphqlRequest<{ viewer: { apiKeyId: string } }>(two.url, viewer, {}, bearer(rotated.data!.rotateApiKey.secret));
    expect(fresh.data?.viewer.apiKeyId).toBe(apiKey.id);
  });
});
