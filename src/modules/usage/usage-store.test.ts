import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageStores } from '../../../test/testkit/usage-stores.ts';
import { newUsageEvent, type UsageEvent, type UsageStatus } from './usage-event.ts';
import { nextBucket, truncate } from './usage-report.ts';
import { ALL_TENANTS, UsageStoreWriteError, type ReportQuery, type UsageFilter, type UsageGroupBy, type UsageReport, type UsageStore, type UsageTotals } from './usage-store.ts';

// One contract, every store: each answer is compared with a plain in-memory reference over the same events.

function seeded(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const TENANTS = ['t-alpha', 't-beta', 't-gamma'];
const START = Date.UTC(2026, 9, 25); // 2026-10-25
const SPAN_MS = 42 * 86_400_000;

function generateEvents(count: number): UsageEvent[] {
  const random = seeded(20261123);
  const pick = <T>(values: readonly T[]) => values[Math.floor(random() * values.length)] as T;
  return Array.from({ length: count }, (_, i) => {
    const model = pick(['m-small', 'm-large', 'm-euro']);
    const status = pick<UsageStatus>(['ok', 'ok', 'ok', 'ok', 'error', 'refused', 'cancelled']);
    const promptTokens = status === 'refused' ? 0 : Math.floor(random() * 2_000);
    const completionTokens = status === 'refused' ? 0 : Math.floor(random() * 800);
    // Most events report no details, as most upstreams do.
    const cachedTokens = random() < 0.3 ? Math.floor(random() * promptTokens) : 0;
    const reasoningTokens = random() < 0.3 ? Math.floor(random() * completionTokens) : 0;
    return newUsageEvent({
      eventId: `ev-${String(i).padStart(5, '0')}-${Math.floor(random() * 1e9).toString(36)}`,
      requestId: `req-${i}`,
      ts: new Date(START + Math.floor(random() * SPAN_MS)),
      tenantId: pick(TENANTS),
      userId: pick(['user-1', 'user-2', null]),
      apiKeyId: pick(['key-1', 'key-2', null]),
      requestedModel: model,
      servedModel: status === 'refused' ? null : `${model}-served`,
      provider: status === 'refused' ? null : pick(['gpu-a', 'gpu-b']),
      deployment: status === 'refused' ? null : 'gpu-a/x',
      kind: pick(['chat', 'completion', 'embedding'] as const),
      promptTokens,
      completionTokens,
      tokensEstimated: random() < 0.2,
      cachedTokens,
      reasoningTokens,
      ttftMs: status === 'ok' ? 1 + Math.floor(random() * 500) : null,
      latencyMs: status === 'refused' ? 1 : 20 + Math.floor(random() * 3_000),
      status,
      errorCode: status === 'error' ? 'UPSTREAM_ERROR' : status === 'refused' ? 'QUOTA_EXCEEDED' : null,
      cacheHit: random() < 0.1,
      costMicros: (promptTokens + completionTokens) * 3,
      currency: model === 'm-euro' ? 'EUR' : 'USD',
      node: 'node-1',
      route: i % 3 === 0 ? 'auto' : null,
      routeRule: i % 3 === 0 ? (i % 2 === 0 ? 'default' : 'tools') : null,
      experimentId: i % 4 === 0 ? 'exp-1' : null,
      variant: i % 4 === 0 ? (i % 8 === 0 ? 'a' : 'b') : null,
      templateName: i % 7 === 0 ? 'summarise' : null,
      templateVersion: i % 7 === 0 ? 1 + (i % 3) : null,
    });
  });
}

const bucketKeyOf: Record<Exclude<UsageGroupBy, 'hour' | 'day' | 'month'>, (e: UsageEvent) => string | null> = {
  model: (e) => e.requestedModel,
  provider: (e) => e.provider,
  apiKey: (e) => e.apiKeyId,
  user: (e) => e.userId,
};

function matches(e: UsageEvent, filter: UsageFilter): boolean {
  const within = (list: readonly string[] | undefined, value: string | null) => !list || list.length === 0 || (value !== null && list.includes(value));
  return (
    within(filter.models, e.requestedModel) &&
    within(filter.providers, e.provider) &&
    within(filter.apiKeyIds, e.apiKeyId) &&
    within(filter.userIds, e.userId) &&
    within(filter.statuses, e.status)
  );
}

function referenceTotals(events: UsageEvent[]): UsageTotals & { latencies: number[] } {
  const costs = new Map<string, number>();
  for (const e of events) costs.set(e.currency, (costs.get(e.currency) ?? 0) + e.costMicros);
  const served = events.filter((e) => e.status !== 'refused').map((e) => e.latencyMs);
  return {
    requests: events.length,
    promptTokens: events.reduce((s, e) => s + e.promptTokens, 0),
    completionTokens: events.reduce((s, e) => s + e.completionTokens, 0),
    totalTokens: events.reduce((s, e) => s + e.totalTokens, 0),
    cachedTokens: events.reduce((s, e) => s + e.cachedTokens, 0),
    reasoningTokens: events.reduce((s, e) => s + e.reasoningTokens, 0),
    errors: events.filter((e) => e.status === 'error').length,
    refused: events.filter((e) => e.status === 'refused').length,
    cancelled: events.filter((e) => e.status === 'cancelled').length,
    cacheHits: events.filter((e) => e.cacheHit).length,
    estimated: events.filter((e) => e.tokensEstimated).length,
    costs: [...costs].map(([currency, micros]) => ({ currency, micros })).sort((a, b) => a.currency.localeCompare(b.currency)),
    latency: served.length ? { avgMs: served.reduce((s, v) => s + v, 0) / served.length, p50Ms: 0, p95Ms: 0 } : null,
    latencies: served.sort((a, b) => a - b),
  };
}

/** Compares a store's totals with the reference: counts exactly, quantiles within t-digest's error. */
function expectTotals(actual: UsageTotals, expected: ReturnType<typeof referenceTotals>, latency: boolean, where: string) {
  const { latencies, latency: expectedLatency, ...counts } = expected;
  expect({ ...actual, latency: undefined }, where).toEqual({ ...counts, latency: undefined });
  if (!latency || !expectedLatency) {
    expect(actual.latency, where).toBeNull();
    return;
  }
  expect(actual.latency?.avgMs, where).toBeCloseTo(expectedLatency.avgMs, 6);
  const spread = (latencies.at(-1) ?? 0) - (latencies[0] ?? 0);
  // Exact stores interpolate between the two ranks around q; t-digest lands near them.
  const within = (value: number | undefined, q: number) => {
    const rank = q * (latencies.length - 1);
    const low = (latencies[Math.floor(rank)] ?? 0) - spread * 0.15 - 5;
    const high = (latencies[Math.ceil(rank)] ?? 0) + spread * 0.15 + 5;
    return value !== undefined && value >= low && value <= high;
  };
  expect(within(actual.latency?.p50Ms, 0.5), `${where} p50 ${actual.latency?.p50Ms} of ${latencies.join(',')}`).toBe(true);
  expect(within(actual.latency?.p95Ms, 0.95), `${where} p95 ${actual.latency?.p95Ms} of ${latencies.join(',')}`).toBe(true);
}

function expectReport(actual: UsageReport | undefined, all: UsageEvent[], tenantId: string, query: ReportQuery) {
  const where = `${tenantId} ${JSON.stringify({ ...query, tenantIds: undefined })}`;
  expect(actual, where).toBeDefined();
  const events = all.filter(
    (e) => (tenantId === ALL_TENANTS || e.tenantId === tenantId) && e.ts >= query.range.from && e.ts < query.range.to && matches(e, query.filter),
  );
  expectTotals(actual!.totals, referenceTotals(events), query.latency, where);
  const { groupBy } = query;
  if (groupBy === null) {
    expect(actual!.buckets).toEqual([]);
  } else if (groupBy === 'hour' || groupBy === 'day' || groupBy === 'month') {
    const starts: Date[] = [];
    for (let s = truncate(query.range.from, groupBy); s < query.range.to; s = nextBucket(s, groupBy)) starts.push(s);
    expect(actual!.buckets.map((b) => b.key), where).toEqual(starts.map((s) => s.toISOString()));
    actual!.buckets.forEach((bucket, i) => {
      const start = starts[i] as Date;
      const inBucket = events.filter((e) => truncate(e.ts, groupBy).getTime() === start.getTime());
      expect(bucket.start).toEqual(start);
      expect(bucket.end).toEqual(nextBucket(start, groupBy));
      expectTotals(bucket.totals, referenceTotals(inBucket), query.latency, `${where} bucket ${bucket.key}`);
    });
  } else {
    const keyOf = bucketKeyOf[groupBy];
    const keys = [...new Set(events.map(keyOf))];
    expect(new Set(actual!.buckets.map((b) => b.key)), where).toEqual(new Set(keys));
    for (const bucket of actual!.buckets) {
      expectTotals(bucket.totals, referenceTotals(events.filter((e) => keyOf(e) === bucket.key)), query.latency, `${where} bucket ${bucket.key}`);
    }
    const tokens = actual!.buckets.map((b) => b.totals.totalTokens);
    expect(tokens, 'dimension buckets come largest first').toEqual([...tokens].sort((a, b) => b - a));
  }
}

const EVENTS = generateEvents(1_500);
const NOVEMBER = { from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-12-01T00:00:00Z') };

describe.each(usageStores())('usage store contract: $name', (underTest) => {
  let store: UsageStore;
  let dispose: () => Promise<void>;

  beforeAll(async () => {
    ({ store, dispose } = await underTest.create());
    // Several batches, one of them spanning two months, as the meter would send them.
    for (let i = 0; i < EVENTS.length; i += 400) {
      const result = await store.insert(EVENTS.slice(i, i + 400), { writerId: 'seed', maybeStored: false });
      expect(result.inserted).toBe(Math.min(400, EVENTS.length - i));
    }
  }, 120_000);
  afterAll(async () => {
    await dispose?.();
  });

  it('reads back every field of an event, nulls and milliseconds included', async () => {
    const sample = EVENTS.filter((e) => e.tenantId === 't-alpha').sort((a, b) => b.ts.getTime() - a.ts.getTime() || (a.eventId < b.eventId ? 1 : -1));
    const page = await store.events({ tenantId: 't-alpha', range: null, filter: {}, limit: 25, after: null });
    expect(page).toEqual(sample.slice(0, 25));
  });

  it('is idempotent on eventId: a resent batch, whole or in part, adds nothing', async () => {
    const before = (await store.report({ tenantIds: null, range: NOVEMBER, groupBy: null, filter: {}, latency: false })).get(ALL_TENANTS);
    expect(await store.insert(EVENTS.slice(0, 300))).toEqual({ inserted: 0, skipped: 300 });
    expect(await store.insert([...EVENTS.slice(300, 310), ...EVENTS.slice(300, 310)], { writerId: 'dup', maybeStored: true })).toEqual({
      inserted: 0,
      skipped: 20,
    });
    const after = (await store.report({ tenantIds: null, range: NOVEMBER, groupBy: null, filter: {}, latency: false })).get(ALL_TENANTS);
    expect(after).toEqual(before);
  });

  it('marks a batch with a value it cannot hold as rejected (a resend cannot help) and stores none of it', async () => {
    // Outside every range the reports below read: June, under a tenant of its own.
    const event = (requestId: string, userId: string) =>
      newUsageEvent({ requestId, tenantId: 't-poison', userId, requestedModel: 'm', kind: 'chat', node: 'n', ts: new Date('2026-06-15T00:00:00Z') });
    const good = event('good', 'user-1');
    // A lone surrogate: Postgres and ClickHouse both refuse it.
    const error = await store.insert([good, event('poisoned', 'user-\ud800')], { maybeStored: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageStoreWriteError);
    expect((error as UsageStoreWriteError).rejected).toBe(true);
    expect(await store.insert([good], { maybeStored: true })).toEqual({ inserted: 1, skipped: 0 });
  });

  const queries: Array<[string, Omit<ReportQuery, 'tenantIds'>]> = [
    ['November by day', { range: NOVEMBER, groupBy: 'day', filter: {}, latency: false }],
    ['November by day with latency', { range: NOVEMBER, groupBy: 'day', filter: {}, latency: true }],
    ['totals only, with latency', { range: NOVEMBER, groupBy: null, filter: {}, latency: true }],
    ['two months by month', { range: { from: new Date('2026-10-01T00:00:00Z'), to: new Date('2026-12-01T00:00:00Z') }, groupBy: 'month', filter: {}, latency: true }],
    ['a day by hour', { range: { from: new Date('2026-11-10T00:00:00Z'), to: new Date('2026-11-11T00:00:00Z') }, groupBy: 'hour', filter: {}, latency: true }],
    ['by model', { range: NOVEMBER, groupBy: 'model', filter: {}, latency: false }],
    ['by provider', { range: NOVEMBER, groupBy: 'provider', filter: {}, latency: true }],
    ['by API key', { range: NOVEMBER, groupBy: 'apiKey', filter: {}, latency: false }],
    ['by user', { range: NOVEMBER, groupBy: 'user', filter: {}, latency: false }],
    ['filtered by model and status', { range: NOVEMBER, groupBy: 'day', filter: { models: ['m-large', 'm-euro'], statuses: ['ok', 'cancelled'] }, latency: false }],
    ['filtered by provider, key and user', { range: NOVEMBER, groupBy: 'model', filter: { providers: ['gpu-a'], apiKeyIds: ['key-1'], userIds: ['user-2'] }, latency: true }],
    ['hour-aligned range inside days', { range: { from: new Date('2026-11-03T05:00:00Z'), to: new Date('2026-11-09T17:00:00Z') }, groupBy: 'day', filter: {}, latency: false }],
    [
      'range off the hour, to the millisecond',
      { range: { from: new Date(EVENTS[10]!.ts.getTime()), to: new Date(EVENTS[20]!.ts.getTime() + 86_400_000 * 3) }, groupBy: 'day', filter: {}, latency: true },
    ],
  ];

  it.each(queries)('reports %s for several tenants from one statement, each matching the reference', async (_name, partial) => {
    const tenantIds = [...TENANTS, 't-without-usage'];
    const reads = store.counters.reads;
    const reports = await store.report({ ...partial, tenantIds });
    expect(store.counters.reads - reads).toBe(1);
    expect([...reports.keys()].sort()).toEqual([...tenantIds].sort());
    for (const tenantId of tenantIds) expectReport(reports.get(tenantId), EVENTS, tenantId, { ...partial, tenantIds });
  });

  it('reports across every tenant at once for the platform', async () => {
    const query: ReportQuery = { tenantIds: null, range: NOVEMBER, groupBy: 'model', filter: {}, latency: true };
    const reports = await store.report(query);
    expect([...reports.keys()]).toEqual([ALL_TENANTS]);
    expectReport(reports.get(ALL_TENANTS), EVENTS, ALL_TENANTS, query);
  });

  it('keeps a report to the tenants asked for', async () => {
    const reports = await store.report({ tenantIds: ['t-beta'], range: NOVEMBER, groupBy: 'user', filter: {}, latency: false });
    expect([...reports.keys()]).toEqual(['t-beta']);
    expectReport(reports.get('t-beta'), EVENTS, 't-beta', { tenantIds: ['t-beta'], range: NOVEMBER, groupBy: 'user', filter: {}, latency: false });
  });

  it.each<[string, string | null, UsageFilter, { from: Date; to: Date }]>([
    ['a tenant over November', 't-alpha', {}, NOVEMBER],
    ['every tenant, one model, a range off the second', null, { models: ['m-large'] }, { from: new Date('2026-11-02T03:04:05.678Z'), to: new Date('2026-11-20T08:00:00.500Z') }],
  ])('counts the cache hits and the tokens they saved: %s', async (_name, tenantId, filter, range) => {
    const hits = EVENTS.filter((e) => e.cacheHit && (tenantId === null || e.tenantId === tenantId) && e.ts >= range.from && e.ts < range.to && matches(e, filter));
    expect(hits.length).toBeGreaterThan(0);
    expect(await store.cacheSavings({ tenantId, range, filter })).toEqual({ hits: hits.length, tokensSaved: hits.reduce((sum, e) => sum + e.totalTokens, 0) });
  });

  it('pages through a tenant\'s events newest first with cursors, filtered and within a range', async () => {
    const filter: UsageFilter = { statuses: ['ok', 'error'] };
    const range = { from: new Date('2026-11-05T00:00:00Z'), to: new Date('2026-11-25T12:34:56.789Z') };
    const expected = EVENTS.filter((e) => e.tenantId === 't-gamma' && e.ts >= range.from && e.ts < range.to && matches(e, filter)).sort(
      (a, b) => b.ts.getTime() - a.ts.getTime() || (a.eventId < b.eventId ? 1 : -1),
    );
    const seen: UsageEvent[] = [];
    let after: { ts: Date; eventId: string } | null = null;
    for (;;) {
      const page = await store.events({ tenantId: 't-gamma', range, filter, limit: 37, after });
      seen.push(...page);
      if (page.length < 37) break;
      const last = page.at(-1)!;
      after = { ts: last.ts, eventId: last.eventId };
    }
    expect(seen.map((e) => e.eventId)).toEqual(expected.map((e) => e.eventId));
  });

  it('orders events that share a millisecond by id, so no cursor skips one', async () => {
    const ts = new Date('2026-11-15T10:00:00.123Z');
    const twins = ['tw-c', 'tw-a', 'tw-b'].map((eventId) =>
      newUsageEvent({ eventId, requestId: eventId, ts, tenantId: 't-twins', requestedModel: 'm', kind: 'chat', node: 'n' }),
    );
    await store.insert(twins);
    const first = await store.events({ tenantId: 't-twins', range: null, filter: {}, limit: 2, after: null });
    expect(first.map((e) => e.eventId)).toEqual(['tw-c', 'tw-b']);
    const rest = await store.events({ tenantId: 't-twins', range: null, filter: {}, limit: 2, after: { ts, eventId: 'tw-b' } });
    expect(rest.map((e) => e.eventId)).toEqual(['tw-a']);
  });

  it('exports a range oldest first, every event once', async () => {
    const range = { from: new Date('2026-10-30T12:00:00Z'), to: new Date('2026-11-20T00:00:00Z') };
    const filter: UsageFilter = { models: ['m-small'] };
    const expected = EVENTS.filter((e) => e.tenantId === 't-alpha' && e.ts >= range.from && e.ts < range.to && matches(e, filter)).sort(
      (a, b) => a.ts.getTime() - b.ts.getTime() || (a.eventId < b.eventId ? -1 : 1),
    );
    const exported: UsageEvent[] = [];
    for await (const event of store.exportEvents({ tenantId: 't-alpha', range, filter })) exported.push(event);
    expect(exported).toEqual(expected);
  });

  it('exports a range of decades in time bounded by the days that hold events', async () => {
    const range = { from: new Date('2000-01-01T00:00:00Z'), to: new Date('2100-01-01T00:00:00Z') };
    const expected = EVENTS.filter((e) => e.tenantId === 't-alpha').length;
    const reads = store.counters.reads;
    let exported = 0;
    for await (const _event of store.exportEvents({ tenantId: 't-alpha', range, filter: {} })) exported += 1;
    expect(exported).toBe(expected);
    // Postgres reads in chunks; ClickHouse reads once for the bounds, then once per day with events.
    expect(store.counters.reads - reads).toBeLessThan(100);
  });

  it.each([
    ['whole days', NOVEMBER],
    ['whole hours', { from: new Date('2026-11-02T03:00:00Z'), to: new Date('2026-11-20T05:00:00Z') }],
    ['any instants', { from: new Date('2026-11-02T03:17:00.250Z'), to: new Date('2026-11-20T05:00:01Z') }],
  ])('ranks the top tenants by tokens, requests and cost over %s', async (_name, range) => {
    for (const by of ['tokens', 'requests', 'cost'] as const) {
      const top = await store.topTenants({ range, by, limit: 2, currency: 'EUR' });
      const expected = TENANTS.map((tenantId) => {
        const totals = referenceTotals(EVENTS.filter((e) => e.tenantId === tenantId && e.ts >= range.from && e.ts < range.to));
        const metric = by === 'tokens' ? totals.totalTokens : by === 'requests' ? totals.requests : (totals.costs.find((c) => c.currency === 'EUR')?.micros ?? 0);
        return { tenantId, totals, metric };
      }).sort((a, b) => b.metric - a.metric || a.tenantId.localeCompare(b.tenantId));
      expect(top.map((t) => t.tenantId), by).toEqual(expected.slice(0, 2).map((t) => t.tenantId));
      top.forEach((t, i) => expectTotals(t.totals, expected[i]!.totals, false, `${by} ${t.tenantId}`));
    }
  });

  it('drops months past the retention and keeps the rest', async () => {
    const old = newUsageEvent({ requestId: 'old', ts: new Date('2024-01-15T00:00:00Z'), tenantId: 't-retention', requestedModel: 'm', kind: 'chat', node: 'n', promptTokens: 5 });
    const recent = newUsageEvent({ requestId: 'recent', ts: new Date('2025-10-15T00:00:00Z'), tenantId: 't-retention', requestedModel: 'm', kind: 'chat', node: 'n', promptTokens: 7 });
    await store.insert([old, recent]);
    await store.enforceRetention(new Date('2026-11-23T00:00:00Z'));
    const left = await store.events({ tenantId: 't-retention', range: null, filter: {}, limit: 10, after: null });
    expect(left.map((e) => e.requestId)).toEqual(['recent']);
    const report = await store.report({ tenantIds: ['t-alpha'], range: NOVEMBER, groupBy: null, filter: {}, latency: false });
    expect(report.get('t-alpha')?.totals.requests).toBeGreaterThan(0);
  });

  it('answers ping', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });
  it("aggregates an experiment's variants as a reference computation over the raw events does, feedback counted once", async () => {
    const inExperiment = EVENTS.filter((e) => e.experimentId === 'exp-1' && e.ts >= NOVEMBER.from && e.ts < NOVEMBER.to);
    const firstValue = new Map<string, number>();
    for (const [i, e] of inExperiment.entries()) {
      if (i % 3 === 2) continue;
      const at = new Date(Date.UTC(2026, 10, 15));
      const value = i % 5 < 3 ? 1 : 0;
      await store.insertFeedback({ tenantId: e.tenantId, requestId: e.requestId, metric: 'thumbs_up', value, ts: at });
      // A repeat, later and different: the first value counts.
      await store.insertFeedback({ tenantId: e.tenantId, requestId: e.requestId, metric: 'thumbs_up', value: 1 - value, ts: new Date(at.getTime() + 1_000) });
      await store.insertFeedback({ tenantId: e.tenantId, requestId: e.requestId, metric: 'score', value: i % 7, ts: at });
      firstValue.set(`${e.requestId}|thumbs_up`, value);
      firstValue.set(`${e.requestId}|score`, i % 7);
    }
    // Feedback of another tenant on the same request id joins nothing.
    await store.insertFeedback({ tenantId: 't-elsewhere', requestId: inExperiment[0]!.requestId, metric: 'thumbs_up', value: 0, ts: new Date() });

    const stats = await store.experimentStats({ experimentId: 'exp-1', range: NOVEMBER });
    expect(stats.map((s) => s.variant)).toEqual(['a', 'b']);
    const close = (actual: number, expected: number) => expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(expected)));
    const moments = (values: number[]) => {
      const mean = values.reduce((s, v) => s + v, 0) / values.length;
      return { mean, variance: values.length > 1 ? values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1) : 0 };
    };
    // Stores interpolate (Postgres) or pick an element (ClickHouse): either lies between the neighbouring ranks.
    const withinRank = (actual: number | null, values: number[], p: number) => {
      const sorted = [...values].sort((a, b) => a - b);
      expect(actual).not.toBeNull();
      expect(actual!).toBeGreaterThanOrEqual(sorted[Math.floor(p * (sorted.length - 1))]!);
      expect(actual!).toBeLessThanOrEqual(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length))]!);
    };
    for (const variant of stats) {
      const events = inExperiment.filter((e) => e.variant === variant.variant);
      const served = events.filter((e) => e.status !== 'refused').map((e) => e.latencyMs);
      expect(variant.requests).toBe(events.length);
      expect(variant.errors).toBe(events.filter((e) => e.status === 'error').length);
      expect(variant.promptTokens).toBe(events.reduce((s, e) => s + e.promptTokens, 0));
      expect(variant.completionTokens).toBe(events.reduce((s, e) => s + e.completionTokens, 0));
      expect(variant.cost.totalMicros).toBe(events.reduce((s, e) => s + e.costMicros, 0));
      expect(variant.latency.count).toBe(served.length);
      close(variant.latency.mean, moments(served).mean);
      close(variant.latency.variance, moments(served).variance);
      close(variant.cost.variance, moments(events.map((e) => e.costMicros)).variance);
      withinRank(variant.latency.p50, served, 0.5);
      withinRank(variant.latency.p95, served, 0.95);
      withinRank(variant.ttftP50, events.flatMap((e) => (e.ttftMs === null ? [] : [e.ttftMs])), 0.5);
      for (const metric of ['score', 'thumbs_up']) {
        const values = events.flatMap((e) => (firstValue.has(`${e.requestId}|${metric}`) ? [firstValue.get(`${e.requestId}|${metric}`)!] : []));
        const actual = variant.feedback.find((f) => f.metric === metric)!;
        expect(actual.count).toBe(values.length);
        close(actual.mean, moments(values).mean);
        close(actual.variance, moments(values).variance);
        expect(actual.binary).toBe(metric === 'thumbs_up');
      }
    }
  });
});
