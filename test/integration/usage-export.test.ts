import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newUsageEvent, type UsageEvent } from '../../src/modules/usage/usage-event.ts';
import { asAdmin, bearer, graphqlRequest, startTestApp, type TestApp } from '../testkit/app.ts';
import { createClickhouseDatabase } from '../testkit/clickhouse-databases.ts';
import { serviceUrl } from '../testkit/services.ts';

const clickhouseUrl = serviceUrl('CLICKHOUSE');
const backends = [
  { name: 'pglite', start: async () => ({ gateway: await startTestApp(), dispose: async () => {} }) },
  ...(clickhouseUrl
    ? [
        {
          name: 'clickhouse',
          start: async () => {
            const database = await createClickhouseDatabase(clickhouseUrl, { migrate: false });
            return { gateway: await startTestApp({ clickhouseUrl: database.url }), dispose: database.dispose };
          },
        },
      ]
    : []),
];

const RANGE = 'from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z';

describe.each(backends)('GET /v1/usage/export on $name', (backend) => {
  let gateway: TestApp;
  let dispose: () => Promise<void>;
  let tenantA: string;
  let tenantB: string;
  let readerKey: string;
  let inferenceKey: string;
  const eventsA: UsageEvent[] = [];

  async function createTenant(name: string): Promise<string> {
    const result = await graphqlRequest<{ createTenant: { tenant: { id: string } } }>(gateway.url, 'mutation($n: String!) { createTenant(input: { name: $n }) { tenant { id } } }', { n: name }, asAdmin());
    return result.data!.createTenant.tenant.id;
  }
  async function createKey(tenantId: string, scopes: string[]): Promise<string> {
    const result = await graphqlRequest<{ createApiKey: { secret: string } }>(
      gateway.url,
      'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }',
      { input: { tenantId, name: 'k', scopes } },
      asAdmin(),
    );
    return result.data!.createApiKey.secret;
  }

  beforeAll(async () => {
    const started = await backend.start();
    gateway = started.gateway;
    dispose = async () => (await gateway.stop(), await started.dispose());
    tenantA = await createTenant('Exporter');
    tenantB = await createTenant('Other');
    readerKey = await createKey(tenantA, ['USAGE_READ']);
    inferenceKey = await createKey(tenantA, ['INFERENCE']);
    const meter = gateway.app.deps.usageMeter;
    const start = Date.UTC(2026, 0, 1);
    // A year of events for A, across every month and day boundary, plus a tricky one.
    for (let i = 0; i < 12_000; i += 1) {
      const event = newUsageEvent({
        requestId: `req-${i}`,
        tenantId: tenantA,
        ts: new Date(start + Math.floor((i * 365 * 86_400_000) / 12_000) + (i % 1000)),
        requestedModel: i % 3 === 0 ? 'model-x' : 'model-y',
        kind: 'chat',
        node: 'n1',
        promptTokens: i % 97,
        completionTokens: i % 13,
        cachedTokens: i % 7 === 0 ? i % 97 : 0,
        reasoningTokens: i % 5 === 0 ? i % 13 : 0,
        costMicros: i,
        status: i % 50 === 0 ? 'error' : 'ok',
      });
      eventsA.push(event);
      meter.record(event);
    }
    const tricky = newUsageEvent({
      requestId: 'tricky',
      tenantId: tenantA,
      ts: new Date('2026-06-15T12:00:00.500Z'),
      requestedModel: 'a,"quoted"\nmodel',
      userId: '=HYPERLINK("http://evil")',
      kind: 'chat',
      node: 'n1',
      promptTokens: 1,
    });
    eventsA.push(tricky);
    meter.record(tricky);
    meter.record(newUsageEvent({ requestId: 'b', tenantId: tenantB, ts: new Date('2026-06-01T00:00:00Z'), requestedModel: 'secret-model', kind: 'chat', node: 'n1' }));
    await meter.flush({ timeoutMs: 30_000 });
    eventsA.sort((a, b) => a.ts.getTime() - b.ts.getTime() || (a.eventId < b.eventId ? -1 : 1));
  }, 180_000);
  afterAll(async () => {
    await dispose?.();
  });

  it('streams a year of events as CSV, oldest first, formulas neutralised', async () => {
    const response = await fetch(`${gateway.url}/v1/usage/export?${RANGE}`, { headers: bearer(readerKey) });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="usage-events-.*\.csv"$/);
    const text = await response.text();
    const lines = text.split('\r\n');
    expect(lines[0]).toBe(
      'event_id,request_id,timestamp,tenant_id,user_id,api_key_id,requested_model,served_model,provider,deployment,kind,prompt_tokens,completion_tokens,total_tokens,tokens_estimated,ttft_ms,latency_ms,status,error_code,cache_hit,cost,currency,node,cached_tokens,reasoning_tokens',
    );
    const detailed = eventsA.find((e) => e.cachedTokens > 0 && e.reasoningTokens > 0)!;
    expect(lines.find((l) => l.startsWith(detailed.eventId))).toMatch(new RegExp(`,${detailed.cachedTokens},${detailed.reasoningTokens}$`));
    expect(text).toContain(`tricky,2026-06-15T12:00:00.500Z,${tenantA},"'=HYPERLINK(""http://evil"")",,"a,""quoted""\nmodel"`);
    expect(text).not.toContain('secret-model');
    // Record lines start with an event id; the quoted newline inside the tricky row does not.
    const ids = lines.slice(1).filter((l) => /^[0-9a-f]{8}-/.test(l)).map((l) => l.slice(0, 36));
    expect(ids).toEqual(eventsA.map((e) => e.eventId));
  });

  it('streams JSON and NDJSON with the same events, filtered', async () => {
    const json = await fetch(`${gateway.url}/v1/usage/export?${RANGE}&format=json&model=model-x&status=error`, { headers: bearer(readerKey) });
    expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const rows = (await json.json()) as { eventId: string; cost: string; status: string }[];
    const expected = eventsA.filter((e) => e.requestedModel === 'model-x' && e.status === 'error');
    expect(rows.map((r) => r.eventId)).toEqual(expected.map((e) => e.eventId));
    expect(rows[1]).toMatchObject({ status: 'error', cost: `0.${String(expected[1]!.costMicros).padStart(6, '0')}` });
    const ndjson = await fetch(`${gateway.url}/v1/usage/export?format=ndjson&model=model-x,model-y&from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z`, { headers: bearer(readerKey) });
    const lines = (await ndjson.text()).trim().split('\n').map((l) => JSON.parse(l) as { timestamp: string });
    const march = eventsA.filter((e) => e.ts >= new Date('2026-03-01T00:00:00Z') && e.ts < new Date('2026-03-02T00:00:00Z'));
    expect(lines.map((l) => l.timestamp)).toEqual(march.map((e) => e.ts.toISOString()));
    const empty = await fetch(`${gateway.url}/v1/usage/export?from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z&format=json`, { headers: bearer(readerKey) });
    expect(await empty.json()).toEqual([]);
  });

  it('exports report buckets as CSV and JSON', async () => {
    const csv = await fetch(`${gateway.url}/v1/usage/export?${RANGE}&type=buckets&groupBy=month`, { headers: bearer(readerKey) });
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('key,start,end,requests,prompt_tokens,completion_tokens,total_tokens,errors,refused,cancelled,cache_hits,estimated,costs,latency_avg_ms,latency_p50_ms,latency_p95_ms,cached_tokens,reasoning_tokens');
    expect(lines).toHaveLength(13);
    const january = eventsA.filter((e) => e.ts < new Date('2026-02-01T00:00:00Z'));
    expect(lines[1]).toMatch(new RegExp(`,${january.reduce((s, e) => s + e.cachedTokens, 0)},${january.reduce((s, e) => s + e.reasoningTokens, 0)}$`));
    const json = await fetch(`${gateway.url}/v1/usage/export?${RANGE}&type=buckets&groupBy=model&format=json`, { headers: bearer(readerKey) });
    const report = (await json.json()) as { totals: { requests: number; totalTokens: number; cachedTokens: number; reasoningTokens: number }; buckets: { key: string }[] };
    expect(report.totals.requests).toBe(eventsA.length);
    expect(report.totals.totalTokens).toBe(eventsA.reduce((s, e) => s + e.totalTokens, 0));
    expect(report.totals.cachedTokens).toBe(eventsA.reduce((s, e) => s + e.cachedTokens, 0));
    expect(report.totals.reasoningTokens).toBe(eventsA.reduce((s, e) => s + e.reasoningTokens, 0));
    expect(report.buckets.map((b) => b.key).sort()).toEqual(['a,"quoted"\nmodel', 'model-x', 'model-y']);
  });

  it('lets the platform export a named tenant', async () => {
    const response = await fetch(`${gateway.url}/v1/usage/export?${RANGE}&format=ndjson`, { headers: asAdmin(tenantB) });
    expect(response.status).toBe(200);
    const rows = (await response.text()).trim().split('\n').map((l) => JSON.parse(l) as { requestId: string });
    expect(rows.map((r) => r.requestId)).toEqual(['b']);
  });

  it('refuses the anonymous, keys without usage:read, other tenants and bad parameters', async () => {
    expect((await fetch(`${gateway.url}/v1/usage/export?${RANGE}`)).status).toBe(401);
    expect((await fetch(`${gateway.url}/v1/usage/export?${RANGE}`, { headers: bearer(inferenceKey) })).status).toBe(403);
    const other = await fetch(`${gateway.url}/v1/usage/export?${RANGE}`, { headers: { ...bearer(readerKey), 'x-tenant-id': tenantB } });
    expect([401, 403, 404]).toContain(other.status);
    expect(await other.text()).not.toContain('secret-model');
    expect((await fetch(`${gateway.url}/v1/usage/export?${RANGE}`, { headers: asAdmin() })).status).toBe(403);
    const bad = await fetch(`${gateway.url}/v1/usage/export?from=yesterday&to=2027-01-01T00:00:00Z`, { headers: bearer(readerKey) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('from');
    expect((await fetch(`${gateway.url}/v1/usage/export?${RANGE}&format=xml`, { headers: bearer(readerKey) })).status).toBe(400);
    expect((await fetch(`${gateway.url}/v1/usage/export?${RANGE}`, { method: 'POST', headers: bearer(readerKey) })).status).toBe(405);
  });

  it('stops reading when the client goes away mid-stream, and keeps serving', async () => {
    const url = new URL(`${gateway.url}/v1/usage/export?${RANGE}&format=ndjson`);
    await new Promise<void>((resolve, reject) => {
      const req = request(url, { headers: bearer(readerKey) }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (error) => (error.message.includes('socket hang up') ? resolve() : reject(error)));
      req.end();
    });
    const again = await fetch(`${gateway.url}/v1/usage/export?${RANGE}&type=buckets&format=json`, { headers: bearer(readerKey) });
    expect(again.status).toBe(200);
  });
});
