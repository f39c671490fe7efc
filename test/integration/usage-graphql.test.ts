import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newUsageEvent, type UsageEvent } from '../../src/modules/usage/usage-event.ts';
import { asAdmin, bearer, graphqlRequest, startTestApp, type TestApp } from '../testkit/app.ts';
import { createClickhouseDatabase, type TestClickhouseDatabase } from '../testkit/clickhouse-databases.ts';
import { serviceUrl } from '../testkit/services.ts';
import { sqlDialects, type TestSqlDatabase } from '../testkit/sql-databases.ts';

// The usage API through the real app; events are recorded straight into deps.usageMeter, as the
// completion service does at the end of every request.

interface Backend {
  name: string;
  start(): Promise<{ gateway: TestApp; dispose(): Promise<void> }>;
}

const clickhouseUrl = serviceUrl('CLICKHOUSE');
const backends: Backend[] = sqlDialects().map((dialect) => ({
  name: dialect.name,
  start: async () => {
    const database: TestSqlDatabase = await dialect.create();
    const gateway = await startTestApp({ databaseUrl: database.databaseUrl });
    return { gateway, dispose: async () => (await gateway.stop(), await database.dispose()) };
  },
}));
if (clickhouseUrl) {
  backends.push({
    name: 'clickhouse',
    start: async () => {
      const clickhouse: TestClickhouseDatabase = await createClickhouseDatabase(clickhouseUrl, { migrate: false });
      const gateway = await startTestApp({ clickhouseUrl: clickhouse.url });
      return { gateway, dispose: async () => (await gateway.stop(), await clickhouse.dispose()) };
    },
  });
}

const NOVEMBER = { from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z' };

const REPORT = `query Report($id: ID!, $range: DateRangeInput!, $groupBy: UsageGroupBy, $filter: UsageFilter) {
  tenant(id: $id) {
    usage(range: $range, groupBy: $groupBy, filter: $filter) {
      range { from to }
      groupBy
      totals { requests promptTokens completionTokens totalTokens errors refused cancelled cacheHits estimatedRequests
        cost { amount amountMicros currency } costs { amount currency } latency { avgMs p50Ms p95Ms } }
      buckets { key start end totals { requests totalTokens cost { amount currency } } }
    }
  }
}`;

describe.each(backends)('usage GraphQL API on $name', (backend) => {
  let gateway: TestApp;
  let dispose: () => Promise<void>;
  let tenantA: string;
  let tenantB: string;
  let readerKey: string;
  let inferenceOnlyKey: string;
  const recorded: UsageEvent[] = [];

  const record = (tenantId: string, overrides: Partial<UsageEvent>) => {
    const event = newUsageEvent({ requestId: `req-${recorded.length}`, tenantId, requestedModel: 'qwen', kind: 'chat', node: 'test', ...overrides });
    recorded.push(event);
    gateway.app.deps.usageMeter.record(event);
    return event;
  };

  async function createTenant(name: string): Promise<string> {
    const result = await graphqlRequest<{ createTenant: { tenant: { id: string } } }>(
      gateway.url,
      'mutation($name: String!) { createTenant(input: { name: $name, plan: "pro" }) { tenant { id } } }',
      { name },
      asAdmin(),
    );
    expect(result.errors).toBeUndefined();
    return result.data!.createTenant.tenant.id;
  }

  async function createKey(tenantId: string, scopes: string[]): Promise<string> {
    const result = await graphqlRequest<{ createApiKey: { secret: string } }>(
      gateway.url,
      'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }',
      { input: { tenantId, name: 'k', scopes } },
      asAdmin(),
    );
    expect(result.errors).toBeUndefined();
    return result.data!.createApiKey.secret;
  }

  beforeAll(async () => {
    ({ gateway, dispose } = await backend.start());
    tenantA = await createTenant('Acme');
    tenantB = await createTenant('Globex');
    readerKey = await createKey(tenantA, ['USAGE_READ']);
    inferenceOnlyKey = await createKey(tenantA, ['INFERENCE']);
    const day = (d: number, h = 10) => new Date(Date.UTC(2026, 10, d, h, 15, 30, 250));
    record(tenantA, { ts: day(3), promptTokens: 100, completionTokens: 50, latencyMs: 400, costMicros: 450, currency: 'USD', provider: 'gpu-a', apiKeyId: 'key-1', userId: 'alice' });
    record(tenantA, { ts: day(3, 11), promptTokens: 10, completionTokens: 5, latencyMs: 200, costMicros: 45, currency: 'USD', provider: 'gpu-b', status: 'cancelled', tokensEstimated: true });
    record(tenantA, { ts: day(4), requestedModel: 'llama', promptTokens: 7, completionTokens: 0, latencyMs: 90, status: 'error', errorCode: 'UPSTREAM_ERROR', provider: 'gpu-a' });
    record(tenantA, { ts: day(5), promptTokens: 0, completionTokens: 0, latencyMs: 1, status: 'refused', errorCode: 'QUOTA_EXCEEDED' });
    record(tenantA, { ts: day(6), promptTokens: 20, completionTokens: 20, latencyMs: 300, cacheHit: true, costMicros: 120, currency: 'USD' });
    record(tenantA, { ts: new Date(Date.UTC(2026, 9, 31, 23, 59, 59)), promptTokens: 999, completionTokens: 1 }); // October: outside the range
    record(tenantB, { ts: day(3), promptTokens: 5_000, completionTokens: 5_000, costMicros: 30_000, currency: 'USD' });
    await gateway.app.deps.usageMeter.flush({ timeoutMs: 10_000 });
  }, 120_000);
  afterAll(async () => {
    await dispose?.();
  });

  it("gives a tenant's key its own report: totals, cost, latency and zero-filled days", async () => {
    const result = await graphqlRequest<{ tenant: { usage: Record<string, unknown> & { buckets: { key: string; totals: { requests: number; totalTokens: number } }[] } } }>(
      gateway.url,
      REPORT,
      { id: tenantA, range: NOVEMBER, groupBy: 'DAY' },
      bearer(readerKey),
    );
    expect(result.errors).toBeUndefined();
    const usage = result.data!.tenant.usage;
    expect(usage.range).toEqual({ from: '2026-11-01T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z' });
    expect(usage.groupBy).toBe('DAY');
    expect(usage.totals).toMatchObject({
      requests: 5,
      promptTokens: 137,
      completionTokens: 75,
      totalTokens: 212,
      errors: 1,
      refused: 1,
      cancelled: 1,
      cacheHits: 1,
      estimatedRequests: 1,
      cost: { amount: '0.000615', amountMicros: '615', currency: 'USD' },
      costs: [{ amount: '0.000615', currency: 'USD' }],
    });
    const latency = (usage.totals as { latency: { avgMs: number; p50Ms: number; p95Ms: number } }).latency;
    expect(latency.avgMs).toBeCloseTo((400 + 200 + 90 + 300) / 4, 6);
    expect(latency.p50Ms).toBeGreaterThanOrEqual(90);
    expect(latency.p95Ms).toBeLessThanOrEqual(400);
    expect(usage.buckets).toHaveLength(30);
    expect(usage.buckets[2]).toMatchObject({ key: '2026-11-03T00:00:00.000Z', start: '2026-11-03T00:00:00.000Z', end: '2026-11-04T00:00:00.000Z', totals: { requests: 2, totalTokens: 165 } });
    expect(usage.buckets[0]!.totals).toMatchObject({ requests: 0, totalTokens: 0, cost: null });
  });

  it('groups by model, provider, API key and user, and filters', async () => {
    const byModel = await graphqlRequest<{ tenant: { usage: { buckets: { key: string | null; totals: { requests: number } }[] } } }>(
      gateway.url,
      REPORT,
      { id: tenantA, range: NOVEMBER, groupBy: 'MODEL' },
      bearer(readerKey),
    );
    expect(byModel.data!.tenant.usage.buckets.map((b) => [b.key, b.totals.requests])).toEqual([
      ['qwen', 4],
      ['llama', 1],
    ]);
    const byUser = await graphqlRequest<{ tenant: { usage: { buckets: { key: string | null; totals: { requests: number } }[] } } }>(
      gateway.url,
      REPORT,
      { id: tenantA, range: NOVEMBER, groupBy: 'USER', filter: { providers: 'gpu-a' } },
      bearer(readerKey),
    );
    expect(byUser.data!.tenant.usage.buckets.map((b) => [b.key, b.totals.requests])).toEqual([
      ['alice', 1],
      [null, 1],
    ]);
    const filtered = await graphqlRequest<{ tenant: { usage: { totals: { requests: number } } } }>(
      gateway.url,
      REPORT,
      { id: tenantA, range: NOVEMBER, filter: { statuses: ['ERROR', 'REFUSED'], models: ['qwen', 'llama'] } },
      bearer(readerKey),
    );
    expect(filtered.data!.tenant.usage.totals.requests).toBe(2);
  });

  it("answers NOT_FOUND for another tenant's usage, and FORBIDDEN to a key without usage:read", async () => {
    const other = await graphqlRequest(gateway.url, REPORT, { id: tenantB, range: NOVEMBER }, bearer(readerKey));
    expect(other.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(JSON.stringify(other.data)).not.toContain('10000');
    const events = await graphqlRequest(gateway.url, `query($id: ID!) { tenant(id: $id) { usageEvents(first: 5) { edges { node { id } } } } }`, { id: tenantB }, bearer(readerKey));
    expect(events.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const noScope = await graphqlRequest(gateway.url, REPORT, { id: tenantA, range: NOVEMBER }, bearer(inferenceOnlyKey));
    expect(noScope.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const anonymous = await graphqlRequest(gateway.url, REPORT, { id: tenantA, range: NOVEMBER });
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses an empty or reversed range and too many buckets', async () => {
    const reversed = await graphqlRequest(gateway.url, REPORT, { id: tenantA, range: { from: NOVEMBER.to, to: NOVEMBER.from } }, bearer(readerKey));
    expect(reversed.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const tooMany = await graphqlRequest(gateway.url, REPORT, { id: tenantA, range: { from: '2020-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }, groupBy: 'HOUR' }, bearer(readerKey));
    expect(tooMany.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('pages through usage events newest first with cursors', async () => {
    const query = `query($id: ID!, $after: String, $filter: UsageFilter) { tenant(id: $id) { usageEvents(first: 2, after: $after, filter: $filter) {
      edges { cursor node { id requestId timestamp requestedModel provider kind status errorCode promptTokens completionTokens totalTokens tokensEstimated ttftMs latencyMs cacheHit cost { amount currency } node } }
      pageInfo { hasNextPage endCursor } } } }`;
    const expected = recorded.filter((e) => e.tenantId === tenantA).sort((a, b) => b.ts.getTime() - a.ts.getTime());
    const seen: { id: string; timestamp: string; status: string }[] = [];
    let after: string | null = null;
    for (let i = 0; i < 10; i += 1) {
      const page: Awaited<ReturnType<typeof graphqlRequest<{ tenant: { usageEvents: { edges: { node: { id: string; timestamp: string; status: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } } }>>> =
        await graphqlRequest(gateway.url, query, { id: tenantA, after }, bearer(readerKey));
      expect(page.errors).toBeUndefined();
      seen.push(...page.data!.tenant.usageEvents.edges.map((e) => e.node));
      if (!page.data!.tenant.usageEvents.pageInfo.hasNextPage) break;
      after = page.data!.tenant.usageEvents.pageInfo.endCursor;
    }
    expect(seen.map((e) => e.id)).toEqual(expected.map((e) => e.eventId));
    expect(seen[0]).toMatchObject({ timestamp: expected[0]!.ts.toISOString(), status: expected[0]!.status.toUpperCase() });
    const bad = await graphqlRequest(gateway.url, query, { id: tenantA, after: 'not-a-cursor' }, bearer(readerKey));
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('shows a recorded event in the report within 5 seconds, without an explicit flush', async () => {
    const started = Date.now();
    const event = record(tenantA, { ts: new Date('2026-11-20T12:00:00Z'), promptTokens: 11, completionTokens: 22, requestedModel: 'fresh' });
    for (;;) {
      const result = await graphqlRequest<{ tenant: { usage: { totals: { totalTokens: number } } } }>(
        gateway.url,
        REPORT,
        { id: tenantA, range: NOVEMBER, filter: { models: 'fresh' } },
        bearer(readerKey),
      );
      if (result.data?.tenant.usage.totals.totalTokens === event.totalTokens) break;
      expect(Date.now() - started).toBeLessThan(5_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });

  it("answers 100 tenants' monthly totals with at most two store queries", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 98; i += 1) ids.push(await createTenant(`Bulk ${i}`));
    const store = gateway.app.deps.usageStore;
    const reads = store.counters.reads;
    const result = await graphqlRequest<{ tenants: { edges: { node: { id: string; usage: { totals: { totalTokens: number } } } }[] } }>(
      gateway.url,
      `query($range: DateRangeInput!) { tenants(first: 100) { edges { node { id usage(range: $range) { totals { requests totalTokens } } } } } }`,
      { range: NOVEMBER },
      asAdmin(),
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.tenants.edges).toHaveLength(100);
    expect(store.counters.reads - reads).toBeLessThanOrEqual(2);
    const byId = new Map(result.data!.tenants.edges.map((e) => [e.node.id, e.node.usage.totals.totalTokens]));
    expect(byId.get(tenantB)).toBe(10_000);
    expect(byId.get(ids[0]!)).toBe(0);
  });

  it('lets the platform rank tenants and see usage across them, and no one else', async () => {
    const top = await graphqlRequest<{ usageTopTenants: { tenantId: string; tenant: { name: string } | null; totals: { totalTokens: number } }[] }>(
      gateway.url,
      `query($range: DateRangeInput!) { usageTopTenants(range: $range, by: TOKENS, first: 2) { tenantId tenant { name } totals { totalTokens } } }`,
      { range: NOVEMBER },
      asAdmin(),
    );
    expect(top.errors).toBeUndefined();
    expect(top.data!.usageTopTenants.map((t) => [t.tenant?.name, t.totals.totalTokens])).toEqual([
      ['Globex', 10_000],
      ['Acme', 245],
    ]);
    const byCost = await graphqlRequest<{ usageTopTenants: { tenantId: string }[] }>(
      gateway.url,
      `query($range: DateRangeInput!) { usageTopTenants(range: $range, by: COST, currency: "USD", first: 1) { tenantId } }`,
      { range: NOVEMBER },
      asAdmin(),
    );
    expect(byCost.data!.usageTopTenants).toEqual([{ tenantId: tenantB }]);
    const platform = await graphqlRequest<{ platformUsage: { totals: { requests: number } } }>(
      gateway.url,
      `query($range: DateRangeInput!) { platformUsage(range: $range, groupBy: MONTH) { totals { requests } buckets { key } } }`,
      { range: NOVEMBER },
      asAdmin(),
    );
    expect(platform.data!.platformUsage.totals.requests).toBe(7);
    const refused = await graphqlRequest(gateway.url, `query($range: DateRangeInput!) { usageTopTenants(range: $range) { tenantId } }`, { range: NOVEMBER }, bearer(readerKey));
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
