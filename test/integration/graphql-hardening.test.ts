import { readdirSync, readFileSync } from 'node:fs';
import { createClient } from 'graphql-ws';
import { Kind, parse, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { configSchema } from '../../src/config.ts';
import { graphqlLimitRules } from '../../src/http/graphql-plugins.ts';
import { schema } from '../../src/schema.ts';
import { asAdmin, graphqlRequest, startTestApp, type TestApp } from '../testkit/app.ts';

const limits = configSchema.parse({}).graphql;
// tenants > edges > node > apiKeys > edges > node > id: seven levels.
const tooDeep = '{ tenants { edges { node { apiKeys { edges { node { id } } } } } } }';
const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: viewer { kind }`).join(' ')} }`;
const costly =
  '{ tenants(first: 100) { edges { node { id name status createdAt plan { id name currency monthlyPrice monthlyTokens } } } pageInfo { hasNextPage endCursor } } }';

type WsOutcome = { data?: unknown; errors?: { message: string }[] };

/** Runs one operation over graphql-ws and resolves with its result, or with the errors the server sent. */
async function overWebSocket(gateway: TestApp, query: string): Promise<WsOutcome> {
  const client = createClient({
    url: gateway.url.replace('http', 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    connectionParams: { authorization: asAdmin().authorization },
    retryAttempts: 0,
  });
  try {
    return await new Promise<WsOutcome>((resolve, reject) => {
      client.subscribe(
        { query },
        {
          next: (value) => resolve(value as WsOutcome),
          error: (error) => (Array.isArray(error) ? resolve({ errors: error as { message: string }[] }) : reject(error as Error)),
          complete: () => {},
        },
      );
    });
  } finally {
    await client.dispose();
  }
}

describe('GraphQL limits admit every client operation', () => {
  // The server's own rules at their defaults: a limit that refuses a frontend's operation fails here.
  const rules = graphqlLimitRules(limits);
  const dir = new URL('../../client/operations/', import.meta.url);
  const files = readdirSync(dir).filter((name) => name.endsWith('.graphql'));

  it.each(files)('%s', (file) => {
    const document = parse(readFileSync(new URL(file, dir), 'utf8'));
    expect(document.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION)).toBe(true);
    expect(validate(schema, document, rules).map((e) => e.message)).toEqual([]);
  });
});

describe('GraphQL surface hardening (development)', () => {
  let gateway: TestApp;
  beforeAll(async () => {
    gateway = await startTestApp();
  });
  afterAll(() => gateway?.stop());

  it(`refuses a document deeper than ${limits.maxDepth} over HTTP`, async () => {
    const result = await graphqlRequest(gateway.url, tooDeep, {}, asAdmin());
    expect(result.status).toBe(400);
    expect(result.errors?.[0]?.message).toContain(`depth limit of ${limits.maxDepth} exceeded`);
    expect(['GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']).toContain(result.errors?.[0]?.extensions?.code);
    expect(result.data ?? null).toBeNull();
  });

  it(`refuses a document deeper than ${limits.maxDepth} over graphql-ws too`, async () => {
    const outcome = await overWebSocket(gateway, tooDeep);
    expect(outcome.data).toBeUndefined();
    expect(outcome.errors?.[0]?.message).toContain(`depth limit of ${limits.maxDepth} exceeded`);
  });

  it(`allows ${limits.maxAliases} aliases and refuses more, over HTTP and graphql-ws`, async () => {
    expect((await graphqlRequest(gateway.url, aliases(limits.maxAliases), {}, asAdmin())).errors).toBeUndefined();
    const refused = await graphqlRequest(gateway.url, aliases(limits.maxAliases + 1), {}, asAdmin());
    expect(refused.errors?.[0]?.message).toContain(`Aliases limit of ${limits.maxAliases} exceeded`);
    expect((await overWebSocket(gateway, aliases(limits.maxAliases + 1))).errors?.[0]?.message).toContain('Aliases limit');
  });

  it(`refuses a document of more than ${limits.maxTokens} tokens, over HTTP and graphql-ws`, async () => {
    const huge = `{ viewer { ${'kind '.repeat(limits.maxTokens)}} }`;
    const refused = await graphqlRequest(gateway.url, huge, {}, asAdmin());
    expect(refused.status).toBe(400);
    expect(refused.errors?.[0]?.message).toContain(`Token limit of ${limits.maxTokens} exceeded`);
    expect((await overWebSocket(gateway, huge)).errors?.[0]?.message).toContain('Token limit');
  });

  it('refuses too many directives', async () => {
    const query = `{ viewer { kind ${'@include(if: true) '.repeat(limits.maxDirectives + 1)}} }`;
    const refused = await graphqlRequest(gateway.url, query, {}, asAdmin());
    expect(refused.errors?.map((e) => e.message).join('\n')).toContain(`Directives limit of ${limits.maxDirectives} exceeded`);
  });

  it(`refuses a document whose cost exceeds ${limits.maxCost}`, async () => {
    const refused = await graphqlRequest(gateway.url, costly, {}, asAdmin());
    expect(refused.errors?.[0]?.message).toContain(`Cost limit of ${limits.maxCost} exceeded`);
    const cheap = await graphqlRequest(gateway.url, costly.replace('first: 100', 'first: 10'), {}, asAdmin());
    expect(cheap.errors).toBeUndefined();
  });

  it('serves introspection and suggests field names outside production', async () => {
    const introspection = await graphqlRequest(gateway.url, '{ __schema { queryType { name } } }');
    expect(introspection.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    const typo = await graphqlRequest(gateway.url, '{ plans { nam } }');
    expect(typo.errors?.[0]?.message).toContain('Did you mean');
  });

  it('accepts JSON POSTs, and GETs only with a header a cross-site form cannot send', async () => {
    const query = encodeURIComponent('{ plans { id } }');
    const bare = await fetch(`${gateway.url}/graphql?query=${query}`, { headers: { accept: 'application/json' } });
    expect(bare.status).toBe(403);
    expect(JSON.stringify(await bare.json())).toContain('CSRF');
    const marked = await fetch(`${gateway.url}/graphql?query=${query}`, { headers: { accept: 'application/json', 'x-graphql-yoga-csrf': '1' } });
    expect(marked.status).toBe(200);
    const authorised = await fetch(`${gateway.url}/graphql?query=${query}`, { headers: { accept: 'application/json', ...asAdmin() } });
    expect(authorised.status).toBe(200);
    const form = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ query: '{ plans { id } }' }),
    });
    expect(form.status).toBe(403);
    expect((await graphqlRequest(gateway.url, '{ plans { id } }')).status).toBe(200);
  });

  it('caps `first` at 100 (given as a variable: written in the document, 1000 would exceed the cost limit)', async () => {
    const db = gateway.app.deps.db.db;
    await db
      .insertInto('audit_log')
      .values(Array.from({ length: 120 }, (_, i) => ({ tenant_id: null, actor_type: 'cli', actor_id: 'test', action: 'test.fill', target: String(i), details: '{}', request_id: null })))
      .execute();
    const result = await graphqlRequest<{ auditLog: { edges: unknown[]; pageInfo: { hasNextPage: boolean } } }>(
      gateway.url,
      'query($first: Int) { auditLog(first: $first) { edges { cursor } pageInfo { hasNextPage } } }',
      { first: 1000 },
      asAdmin(),
    );
    expect(result.errors).toBeUndefined();
    expect(result.data?.auditLog.edges).toHaveLength(100);
    expect(result.data?.auditLog.pageInfo.hasNextPage).toBe(true);
  });
});

describe('GraphQL surface hardening (production)', () => {
  let gateway: TestApp;
  let opened: TestApp;
  beforeAll(async () => {
    gateway = await startTestApp({ config: { production: true, server: { publicGraphiql: false } } });
    opened = await startTestApp({ config: { production: true, graphql: { introspection: true } } });
  });
  afterAll(async () => {
    await gateway?.stop();
    await opened?.stop();
  });

  it('turns introspection off, over HTTP and graphql-ws', async () => {
    const http = await graphqlRequest(gateway.url, '{ __schema { queryType { name } } }');
    expect(http.errors?.[0]?.message).toContain('introspection has been disabled');
    expect(http.data ?? null).toBeNull();
    const ws = await overWebSocket(gateway, '{ __type(name: "Tenant") { fields { name } } }');
    expect(ws.errors?.[0]?.message).toContain('introspection has been disabled');
  });

  it('hides field suggestions', async () => {
    const typo = await graphqlRequest(gateway.url, '{ plans { nam } }');
    expect(typo.errors?.[0]?.message).toContain('Cannot query field "nam"');
    expect(typo.errors?.[0]?.message).not.toContain('Did you mean');
  });

  it('serves no GraphiQL page', async () => {
    const page = await fetch(`${gateway.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toContain('<html');
  });

  it('turns introspection back on with TOLLGATE_GRAPHQL_INTROSPECTION', async () => {
    const http = await graphqlRequest(opened.url, '{ __schema { queryType { name } } }');
    expect(http.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });

  it('masks unexpected errors: no internals in the answer', async () => {
    // Run last: with its database gone, every resolver that reads fails unexpectedly.
    await gateway.app.deps.db.db.destroy();
    const result = await graphqlRequest(gateway.url, '{ tenants(first: 1) { edges { cursor } } }', {}, asAdmin());
    expect(result.errors?.[0]).toMatchObject({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(JSON.stringify(result)).not.toMatch(/kysely|pglite|driver|\.ts:\d+/i);
  });
});
