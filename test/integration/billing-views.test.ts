import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newUsageEvent, type UsageEvent } from '../../src/modules/usage/usage-event.ts';
import { asAdmin, graphqlRequest, startTestApp, type TestApp } from '../testkit/app.ts';
import { createClickhouseDatabase } from '../testkit/clickhouse-databases.ts';
import { serviceUrl } from '../testkit/services.ts';
import { sqlDialects } from '../testkit/sql-databases.ts';

// The seeds' billing SQL, run as written against the views of each usage store, gives the numbers
// of the GraphQL usage report on the same events.

interface Backend {
  name: string;
  start(): Promise<{ gateway: TestApp; dispose(): Promise<void> }>;
}

const clickhouseUrl = serviceUrl('CLICKHOUSE');
const backends: Backend[] = sqlDialects().map((dialect) => ({
  name: dialect.name,
  start: async () => {
    const database = await dialect.create();
    const gateway = await startTestApp({ databaseUrl: database.databaseUrl });
    return { gateway, dispose: async () => (await gateway.stop(), await database.dispose()) };
  },
}));
if (clickhouseUrl) {
  backends.push({
    name: 'clickhouse',
    start: async () => {
      const clickhouse = await createClickhouseDatabase(clickhouseUrl, { migrate: false });
      const gateway = await startTestApp({ clickhouseUrl: clickhouse.url });
      return { gateway, dispose: async () => (await gateway.stop(), await clickhouse.dispose()) };
    },
  });
}

const JANUARY = { from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z' };

describe.each(backends)('billing views on $name', (backend) => {
  let gateway: TestApp;
  let dispose: () => Promise<void>;
  let tenantId: string;

  /** Runs SQL against the usage store the app writes to, numbers as strings (both stores' drivers differ). */
  async function query(text: string): Promise<Record<string, unknown>[]> {
    const clickhouse = gateway.app.deps.clickhouse;
    if (clickhouse) return (await clickhouse.query({ query: text, format: 'JSONEachRow' })).json();
    return (await sql.raw<Record<string, unknown>>(text).execute(gateway.app.deps.db.db)).rows;
  }

  beforeAll(async () => {
    ({ gateway, dispose } = await backend.start());
    const created = await graphqlRequest<{ createTenant: { tenant: { id: string } } }>(
      gateway.url,
      'mutation { createTenant(input: { name: "Seeds", plan: "pro" }) { tenant { id } } }',
      {},
      asAdmin(),
    );
    tenantId = created.data!.createTenant.tenant.id;
    const record = (ts: string, overrides: Partial<UsageEvent>) =>
      gateway.app.deps.usageMeter.record(newUsageEvent({ requestId: `r-${ts}-${Math.random()}`, tenantId, requestedModel: 'qwen', kind: 'chat', node: 'test', ts: new Date(ts), ...overrides }));
    record('2026-01-01T00:00:00Z', { promptTokens: 100, completionTokens: 50, costMicros: 450, userId: 'alice', apiKeyId: 'key-1', provider: 'gpu-a', latencyMs: 120 });
    record('2026-01-15T12:00:00Z', { promptTokens: 1_000, completionTokens: 234, costMicros: 3_702, provider: 'gpu-b', latencyMs: 800, kind: 'completion' });
    record('2026-01-15T13:00:00Z', { promptTokens: 7, status: 'error', errorCode: 'UPSTREAM_ERROR', provider: 'gpu-a', latencyMs: 50 });
    record('2026-01-20T08:00:00Z', { status: 'refused', errorCode: 'QUOTA_EXCEEDED', latencyMs: 1 });
    record('2026-01-31T23:59:59Z', { promptTokens: 11, completionTokens: 22, costMicros: 99, currency: 'EUR', requestedModel: 'mistral' });
    // Outside January on both sides.
    record('2025-12-31T23:59:59Z', { promptTokens: 5_000, completionTokens: 5_000 });
    record('2026-02-01T00:00:00Z', { promptTokens: 6_000, completionTokens: 6_000 });
    await gateway.app.deps.usageMeter.flush({ timeoutMs: 10_000 });
  }, 120_000);
  afterAll(async () => {
    await dispose?.();
  });

  it("tenant_daily_usage: the seeds' monthly sum equals the GraphQL report's totals", async () => {
    const report = await graphqlRequest<{ tenant: { usage: { totals: Record<string, unknown> } } }>(
      gateway.url,
      `query($id: ID!, $range: DateRangeInput!) { tenant(id: $id) { usage(range: $range) { totals { requests promptTokens completionTokens totalTokens costs { amount currency } } } } }`,
      { id: tenantId, range: JANUARY },
      asAdmin(),
    );
    expect(report.errors).toBeUndefined();
    const totals = report.data!.tenant.usage.totals;
    expect(totals).toMatchObject({ requests: 5, promptTokens: 1_118, completionTokens: 306, totalTokens: 1_424 });

    const [seed] = await query(`SELECT sum(total_tokens) AS total FROM tenant_daily_usage WHERE tenant_id = '${tenantId}' AND date BETWEEN '2026-01-01' AND '2026-01-31'`);
    expect(Number(seed!.total)).toBe(totals.totalTokens);

    const [sums] = await query(
      `SELECT sum(requests) AS requests, sum(prompt_tokens) AS prompt, sum(completion_tokens) AS completion FROM tenant_daily_usage WHERE tenant_id = '${tenantId}' AND date BETWEEN '2026-01-01' AND '2026-01-31'`,
    );
    expect([Number(sums!.requests), Number(sums!.prompt), Number(sums!.completion)]).toEqual([totals.requests, totals.promptTokens, totals.completionTokens]);

    const costs = await query(
      `SELECT currency, sum(cost) AS cost FROM tenant_daily_usage WHERE tenant_id = '${tenantId}' AND date BETWEEN '2026-01-01' AND '2026-01-31' GROUP BY currency ORDER BY currency`,
    );
    expect(costs.map((row) => ({ currency: row.currency, amount: Number(row.cost) }))).toEqual(
      (totals.costs as { amount: string; currency: string }[]).map((cost) => ({ currency: cost.currency, amount: Number(cost.amount) })),
    );
  });

  it('tenant_daily_usage: one row per day and currency, dated in UTC', async () => {
    const rows = await query(
      `SELECT toString(date) AS day, currency, requests, total_tokens FROM tenant_daily_usage WHERE tenant_id = '${tenantId}' ORDER BY day, currency`.replace(
        'toString(date)',
        gateway.app.deps.clickhouse ? 'toString(date)' : 'date::text',
      ),
    );
    expect(rows.map((row) => [row.day, row.currency, Number(row.requests), Number(row.total_tokens)])).toEqual([
      ['2025-12-31', 'USD', 1, 10_000],
      ['2026-01-01', 'USD', 1, 150],
      ['2026-01-15', 'USD', 2, 1_241],
      ['2026-01-20', 'USD', 1, 0],
      ['2026-01-31', 'EUR', 1, 33],
      ['2026-02-01', 'USD', 1, 12_000],
    ]);
  });

  it("llm_requests: one row per request with the seeds' columns", async () => {
    const rows = await query(
      `SELECT tenant_id, user_id, api_key_id, model, provider, request_type, prompt_tokens, completion_tokens, total_tokens, latency_ms, success, error_code, created_at
       FROM llm_requests WHERE tenant_id = '${tenantId}' AND created_at >= '2026-01-01 00:00:00' AND created_at < '2026-02-01 00:00:00' ORDER BY created_at`,
    );
    const normalised = rows.map((row) => ({
      ...row,
      prompt_tokens: Number(row.prompt_tokens),
      completion_tokens: Number(row.completion_tokens),
      total_tokens: Number(row.total_tokens),
      latency_ms: Number(row.latency_ms),
      success: row.success === true || Number(row.success) === 1,
      created_at: new Date(row.created_at instanceof Date ? row.created_at : `${String(row.created_at).replace(' ', 'T')}Z`).toISOString(),
    }));
    const row = (overrides: Record<string, unknown>) => ({
      tenant_id: tenantId,
      user_id: null,
      api_key_id: null,
      model: 'qwen',
      provider: null,
      request_type: 'chat',
      prompt_tokens: 0,
      completion_tokens: 0,
      total_tokens: 0,
      latency_ms: 0,
      success: true,
      error_code: null,
      ...overrides,
    });
    expect(normalised).toEqual([
      row({ user_id: 'alice', api_key_id: 'key-1', provider: 'gpu-a', prompt_tokens: 100, completion_tokens: 50, total_tokens: 150, latency_ms: 120, created_at: '2026-01-01T00:00:00.000Z' }),
      row({ provider: 'gpu-b', request_type: 'completion', prompt_tokens: 1_000, completion_tokens: 234, total_tokens: 1_234, latency_ms: 800, created_at: '2026-01-15T12:00:00.000Z' }),
      row({ provider: 'gpu-a', prompt_tokens: 7, total_tokens: 7, latency_ms: 50, success: false, error_code: 'UPSTREAM_ERROR', created_at: '2026-01-15T13:00:00.000Z' }),
      row({ latency_ms: 1, success: false, error_code: 'QUOTA_EXCEEDED', created_at: '2026-01-20T08:00:00.000Z' }),
      row({ model: 'mistral', prompt_tokens: 11, completion_tokens: 22, total_tokens: 33, created_at: '2026-01-31T23:59:59.000Z' }),
    ]);
  });
});
