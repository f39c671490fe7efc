import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { SqlDatabase } from '../../storage/sql-database.ts';
import { experimentStatsSql } from './experiment-stats-sql.ts';
import type { UsageEvent, UsageKind, UsageStatus } from './usage-event.ts';
import { assembleReports, isAligned, parseCosts, truncate, type ReportRow } from './usage-report.ts';
import {
  ALL_TENANTS,
  UsageStoreWriteError,
  type CacheSavings,
  type CacheSavingsQuery,
  type EventsQuery,
  type ExperimentStatsQuery,
  type Feedback,
  type VariantStats,
  type ExportQuery,
  type InsertResult,
  type ReportQuery,
  type StoreCounters,
  type TenantUsage,
  type TopTenantsQuery,
  type UsageFilter,
  type UsageGroupBy,
  type UsageReport,
  type UsageStore,
} from './usage-store.ts';
import type { UsageEventRow, UsageTables } from './usage.table.ts';

const EXPORT_CHUNK = 5_000;
const RETRYABLE = new Set(['40P01', '40001']); // deadlock, serialization failure
// SQLSTATE classes of a value the database refuses (data exception, integrity, program limit such as
// an index row too large): the same events fail every time, so the meter sets them aside.
const REJECTED_CLASSES = new Set(['22', '23', '54']);

export interface PostgresUsageStoreOptions {
  kind: 'postgres' | 'pglite';
  retentionMonths: number;
}

type Source = 'raw' | 'daily';

/**
 * Usage in Postgres or PGlite: events partitioned by month, the daily rollup updated by the same
 * statement that inserts a batch, and only for the events that statement actually inserted.
 */
export class PostgresUsageStore implements UsageStore {
  readonly kind: 'postgres' | 'pglite';
  readonly counters: StoreCounters = { reads: 0, writes: 0 };
  readonly #db: Kysely<UsageTables>;
  readonly #retentionMonths: number;
  readonly #partitions = new Set<string>();

  constructor(db: SqlDatabase, options: PostgresUsageStoreOptions) {
    this.#db = db.withTables<UsageTables>();
    this.kind = options.kind;
    this.#retentionMonths = options.retentionMonths;
  }

  async insert(events: readonly UsageEvent[]): Promise<InsertResult> {
    const unique = [...new Map(events.map((e) => [e.eventId, e])).values()];
    if (unique.length === 0) return { inserted: 0, skipped: events.length };
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.#ensurePartitions(unique.map((e) => e.ts));
        this.counters.writes += 1;
        const { rows } = await insertStatement(unique).execute(this.#db);
        const inserted = rows[0]?.inserted ?? 0;
        return { inserted, skipped: events.length - inserted };
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code !== undefined && RETRYABLE.has(code) && attempt < 5) continue;
        // A transaction either committed or did not, and a resend is deduplicated by the key anyway.
        const rejected = code !== undefined && REJECTED_CLASSES.has(code.slice(0, 2));
        throw new UsageStoreWriteError(`usage insert failed: ${(error as Error).message}`, false, { cause: error, rejected });
      }
    }
  }

  async report(query: ReportQuery): Promise<Map<string, UsageReport>> {
    if (query.tenantIds !== null && query.tenantIds.length === 0) return new Map();
    const source: Source = !query.latency && query.groupBy !== 'hour' && isAligned(query.range, 'day') ? 'daily' : 'raw';
    const rowsSql = source === 'raw' ? rawRows(query) : dailyRows(query);
    const grouping = query.groupBy === null ? sql`GROUP BY t, b, cur` : sql`GROUP BY GROUPING SETS ((t, b, cur), (t, cur))`;
    const latencyGrouping = query.groupBy === null ? sql`GROUP BY t, b` : sql`GROUP BY GROUPING SETS ((t, b), (t))`;
    const quantiles = query.latency
      ? sql`, q AS (
          SELECT t, b, percentile_cont(ARRAY[0.5, 0.95]::float8[]) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE status <> 'refused') AS q
          FROM f ${latencyGrouping}
        )`
      : sql``;
    const statement = sql<PgReportRow>`
      WITH f AS NOT MATERIALIZED (${rowsSql}),
      g AS (
        SELECT t, b, cur, sum(requests)::bigint AS requests, sum(prompt_tokens)::bigint AS prompt_tokens,
          sum(completion_tokens)::bigint AS completion_tokens, sum(total_tokens)::bigint AS total_tokens,
          sum(cached_tokens)::bigint AS cached_tokens, sum(reasoning_tokens)::bigint AS reasoning_tokens,
          sum(errors)::bigint AS errors, sum(refused)::bigint AS refused, sum(cancelled)::bigint AS cancelled,
          sum(cache_hits)::bigint AS cache_hits, sum(estimated)::bigint AS estimated, sum(cost_micros)::bigint AS cost_micros,
          sum(latency_sum)::bigint AS latency_sum, sum(latency_count)::bigint AS latency_count
        FROM f ${grouping}
      )${quantiles}
      SELECT g.t, g.b, sum(g.requests)::bigint AS requests, sum(g.prompt_tokens)::bigint AS prompt_tokens,
        sum(g.completion_tokens)::bigint AS completion_tokens, sum(g.total_tokens)::bigint AS total_tokens,
        sum(g.cached_tokens)::bigint AS cached_tokens, sum(g.reasoning_tokens)::bigint AS reasoning_tokens,
        sum(g.errors)::bigint AS errors, sum(g.refused)::bigint AS refused, sum(g.cancelled)::bigint AS cancelled,
        sum(g.cache_hits)::bigint AS cache_hits, sum(g.estimated)::bigint AS estimated,
        json_agg(json_build_array(g.cur, g.cost_micros::text)) AS costs,
        sum(g.latency_sum)::bigint AS latency_sum, sum(g.latency_count)::bigint AS latency_count,
        ${query.latency ? sql`min(q.q[1]) AS p50, min(q.q[2]) AS p95` : sql`NULL::float8 AS p50, NULL::float8 AS p95`}
      FROM g ${query.latency ? sql`LEFT JOIN q ON q.t = g.t AND q.b IS NOT DISTINCT FROM g.b` : sql``}
      GROUP BY g.t, g.b
    `;
    this.counters.reads += 1;
    const { rows } = await statement.execute(this.#db);
    return assembleReports(query, rows.map(toReportRow));
  }

  async hasRequest(tenantId: string, requestId: string): Promise<boolean> {
    this.counters.reads += 1;
    const { rows } = await sql<{ found: number }>`SELECT 1 AS found FROM usage_event WHERE tenant_id = ${tenantId} AND request_id = ${requestId} LIMIT 1`.execute(this.#db);
    return rows.length > 0;
  }

  async insertFeedback(feedback: Feedback): Promise<void> {
    this.counters.writes += 1;
    await sql`
      INSERT INTO usage_feedback (tenant_id, request_id, metric, value, ts)
      VALUES (${feedback.tenantId}, ${feedback.requestId}, ${feedback.metric}, ${feedback.value}, ${feedback.ts.toISOString()})
      ON CONFLICT (tenant_id, request_id, metric) DO NOTHING
    `.execute(this.#db);
  }

  experimentStats(query: ExperimentStatsQuery): Promise<VariantStats[]> {
    this.counters.reads += 2;
    return experimentStatsSql(this.#db, query);
  }

  async events(query: EventsQuery): Promise<UsageEvent[]> {
    let q = this.#db.selectFrom('usage_event').selectAll().where('tenant_id', '=', query.tenantId);
    if (query.range) q = q.where('ts', '>=', query.range.from).where('ts', '<', query.range.to);
    q = q.where(filterSql(query.filter, rawColumns));
    if (query.after) q = q.where(sql<boolean>`(ts, event_id) < (${query.after.ts}, ${query.after.eventId})`);
    this.counters.reads += 1;
    const rows = await q.orderBy('ts', 'desc').orderBy('event_id', 'desc').limit(query.limit).execute();
    return rows.map(fromRow);
  }

  async *exportEvents(query: ExportQuery): AsyncIterable<UsageEvent> {
    let after: { ts: Date; eventId: string } | null = null;
    for (;;) {
      let q = this.#db
        .selectFrom('usage_event')
        .selectAll()
        .where('tenant_id', '=', query.tenantId)
        .where('ts', '>=', query.range.from)
        .where('ts', '<', query.range.to)
        .where(filterSql(query.filter, rawColumns));
      if (after) q = q.where(sql<boolean>`(ts, event_id) > (${after.ts}, ${after.eventId})`);
      this.counters.reads += 1;
      const rows = await q.orderBy('ts', 'asc').orderBy('event_id', 'asc').limit(EXPORT_CHUNK).execute();
      for (const row of rows) yield fromRow(row);
      const last = rows.at(-1);
      if (!last || rows.length < EXPORT_CHUNK) return;
      after = { ts: last.ts, eventId: last.event_id };
    }
  }

  async topTenants(query: TopTenantsQuery): Promise<TenantUsage[]> {
    const rowsSql = isAligned(query.range, 'day')
      ? dailyRows({ tenantIds: null, range: query.range, groupBy: null, filter: {}, latency: false }, sql.ref('tenant_id'))
      : rawRows({ tenantIds: null, range: query.range, groupBy: null, filter: {}, latency: false }, sql.ref('tenant_id'));
    const order =
      query.by === 'tokens'
        ? sql`sum(total_tokens)`
        : query.by === 'requests'
          ? sql`sum(requests)`
          : sql`coalesce(sum(cost_micros) FILTER (WHERE cur = ${query.currency}), 0)`;
    this.counters.reads += 1;
    const { rows } = await sql<PgReportRow>`
      WITH g AS (
        SELECT t, cur, sum(requests)::bigint AS requests, sum(prompt_tokens)::bigint AS prompt_tokens,
          sum(completion_tokens)::bigint AS completion_tokens, sum(total_tokens)::bigint AS total_tokens,
          sum(cached_tokens)::bigint AS cached_tokens, sum(reasoning_tokens)::bigint AS reasoning_tokens,
          sum(errors)::bigint AS errors, sum(refused)::bigint AS refused, sum(cancelled)::bigint AS cancelled,
          sum(cache_hits)::bigint AS cache_hits, sum(estimated)::bigint AS estimated, sum(cost_micros)::bigint AS cost_micros,
          sum(latency_sum)::bigint AS latency_sum, sum(latency_count)::bigint AS latency_count
        FROM (${rowsSql}) AS f GROUP BY t, cur
      )
      SELECT t, NULL::text AS b, sum(requests)::bigint AS requests, sum(prompt_tokens)::bigint AS prompt_tokens,
        sum(completion_tokens)::bigint AS completion_tokens, sum(total_tokens)::bigint AS total_tokens,
        sum(cached_tokens)::bigint AS cached_tokens, sum(reasoning_tokens)::bigint AS reasoning_tokens,
        sum(errors)::bigint AS errors, sum(refused)::bigint AS refused, sum(cancelled)::bigint AS cancelled,
        sum(cache_hits)::bigint AS cache_hits, sum(estimated)::bigint AS estimated,
        json_agg(json_build_array(cur, cost_micros::text)) AS costs,
        sum(latency_sum)::bigint AS latency_sum, sum(latency_count)::bigint AS latency_count, NULL::float8 AS p50, NULL::float8 AS p95
      FROM g GROUP BY t
      ORDER BY ${order} DESC, t ASC
      LIMIT ${query.limit}
    `.execute(this.#db);
    return rows.map((row) => {
      const tenantId = row.t;
      const report = assembleReports({ tenantIds: [tenantId], range: query.range, groupBy: null, filter: {}, latency: false }, [toReportRow(row)]);
      return { tenantId, totals: (report.get(tenantId) as UsageReport).totals };
    });
  }

  async cacheSavings(query: CacheSavingsQuery): Promise<CacheSavings> {
    this.counters.reads += 1;
    const { rows } = await sql<{ hits: string; tokens: string }>`
      SELECT count(*)::bigint AS hits, coalesce(sum(total_tokens), 0)::bigint AS tokens
      FROM usage_event
      WHERE ${tenantCondition(query.tenantId === null ? null : [query.tenantId])} AND ts >= ${query.range.from} AND ts < ${query.range.to}
        AND cache_hit AND ${filterSql(query.filter, rawColumns)}
    `.execute(this.#db);
    return { hits: Number(rows[0]?.hits ?? 0), tokensSaved: Number(rows[0]?.tokens ?? 0) };
  }

  async enforceRetention(now: Date): Promise<string[]> {
    const cutoff = monthsBefore(truncate(now, 'month'), this.#retentionMonths);
    const { rows } = await sql<{ name: string }>`
      SELECT c.relname AS name FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
      WHERE p.relname = 'usage_event'
    `.execute(this.#db);
    const dropped: string[] = [];
    for (const { name } of rows) {
      const match = /^usage_event_p(\d{4})(\d{2})$/.exec(name);
      if (!match) continue;
      const monthEnd = new Date(Date.UTC(Number(match[1]), Number(match[2]), 1));
      if (monthEnd > cutoff) continue;
      await sql`DROP TABLE IF EXISTS ${sql.id(name)}`.execute(this.#db);
      this.#partitions.delete(name);
      dropped.push(name);
    }
    return dropped;
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.#db);
  }

  /** Creates the monthly partitions a batch needs; serialised across nodes by an advisory lock. */
  async #ensurePartitions(times: readonly Date[]): Promise<void> {
    const missing = new Map<string, Date>();
    for (const ts of times) {
      const start = truncate(ts, 'month');
      const name = partitionName(start);
      if (!this.#partitions.has(name)) missing.set(name, start);
    }
    if (missing.size === 0) return;
    await this.#db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(hashtext('tollgate.usage_event.partitions'))`.execute(trx);
      for (const [name, start] of missing) {
        const end = monthsBefore(start, -1);
        // Partition bounds must be literals; both are built from numbers only.
        await sql`CREATE TABLE IF NOT EXISTS ${sql.id(name)} PARTITION OF usage_event
          FOR VALUES FROM (${sql.lit(start.toISOString())}) TO (${sql.lit(end.toISOString())})`.execute(trx);
      }
    });
    for (const name of missing.keys()) this.#partitions.add(name);
  }
}

interface PgReportRow {
  t: string;
  b: string | null;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  errors: number;
  refused: number;
  cancelled: number;
  cache_hits: number;
  estimated: number;
  costs: [string, string][] | string;
  latency_sum: number;
  latency_count: number;
  p50: number | null;
  p95: number | null;
}

function toReportRow(row: PgReportRow): ReportRow {
  const costs = typeof row.costs === 'string' ? (JSON.parse(row.costs) as [string, string][]) : row.costs;
  return {
    tenantId: row.t,
    bucket: row.b,
    requests: Number(row.requests),
    promptTokens: Number(row.prompt_tokens),
    completionTokens: Number(row.completion_tokens),
    totalTokens: Number(row.total_tokens),
    cachedTokens: Number(row.cached_tokens),
    reasoningTokens: Number(row.reasoning_tokens),
    errors: Number(row.errors),
    refused: Number(row.refused),
    cancelled: Number(row.cancelled),
    cacheHits: Number(row.cache_hits),
    estimated: Number(row.estimated),
    costs: parseCosts(costs),
    latencySum: Number(row.latency_sum),
    latencyCount: Number(row.latency_count),
    p50: row.p50 === null ? null : Number(row.p50),
    p95: row.p95 === null ? null : Number(row.p95),
  };
}

interface Columns {
  model: string;
  provider: string;
  apiKey: string;
  user: string;
}
const rawColumns: Columns = { model: 'requested_model', provider: 'provider', apiKey: 'api_key_id', user: 'user_id' };
const dailyColumns: Columns = { model: 'model', provider: 'provider', apiKey: 'api_key_id', user: 'user_id' };

function filterSql(filter: UsageFilter, columns: Columns): RawBuilder<boolean> {
  const parts: RawBuilder<unknown>[] = [sql`true`];
  const add = (column: string, values: readonly string[] | undefined) => {
    if (values && values.length > 0) parts.push(sql`${sql.ref(column)} = ANY(${[...values]}::text[])`);
  };
  add(columns.model, filter.models);
  add(columns.provider, filter.providers);
  add(columns.apiKey, filter.apiKeyIds);
  add(columns.user, filter.userIds);
  add('status', filter.statuses);
  return sql<boolean>`(${sql.join(parts, sql` AND `)})`;
}

function tenantCondition(tenantIds: readonly string[] | null): RawBuilder<unknown> {
  return tenantIds === null ? sql`true` : sql`tenant_id = ANY(${[...tenantIds]}::text[])`;
}

const epochMs = (expr: RawBuilder<unknown>) => sql`(extract(epoch FROM ${expr}) * 1000)::bigint::text`;

function rawBucket(groupBy: UsageGroupBy | null): RawBuilder<unknown> {
  switch (groupBy) {
    case null:
      return sql`NULL::text`;
    case 'hour':
    case 'day':
    case 'month':
      return epochMs(sql`date_trunc(${sql.lit(groupBy)}, ts, 'UTC')`);
    case 'model':
      return sql`requested_model`;
    case 'provider':
      return sql`coalesce(provider, '')`;
    case 'apiKey':
      return sql`coalesce(api_key_id, '')`;
    case 'user':
      return sql`coalesce(user_id, '')`;
  }
}

function dailyBucket(groupBy: UsageGroupBy | null): RawBuilder<unknown> {
  switch (groupBy) {
    case null:
      return sql`NULL::text`;
    case 'hour':
      throw new Error('the daily rollup cannot group by hour');
    case 'day':
      return sql`((day - DATE '1970-01-01')::bigint * 86400000)::text`;
    case 'month':
      return sql`((date_trunc('month', day)::date - DATE '1970-01-01')::bigint * 86400000)::text`;
    case 'model':
      return sql`model`;
    case 'provider':
      return sql`provider`;
    case 'apiKey':
      return sql`api_key_id`;
    case 'user':
      return sql`user_id`;
  }
}

const tenantKey = (query: ReportQuery) => (query.tenantIds === null ? sql`${ALL_TENANTS}::text` : sql`tenant_id`);

/** One row per event, shaped like a rollup row (counts of 1 and 0). */
function rawRows(query: ReportQuery, tenant: RawBuilder<unknown> | ReturnType<typeof sql.ref> = tenantKey(query)): RawBuilder<unknown> {
  return sql`
    SELECT ${tenant} AS t, ${rawBucket(query.groupBy)} AS b, currency AS cur, 1 AS requests,
      prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens,
      (status = 'error')::int AS errors, (status = 'refused')::int AS refused, (status = 'cancelled')::int AS cancelled,
      cache_hit::int AS cache_hits, tokens_estimated::int AS estimated, cost_micros,
      CASE WHEN status <> 'refused' THEN latency_ms ELSE 0 END AS latency_sum, (status <> 'refused')::int AS latency_count,
      latency_ms, status
    FROM usage_event
    WHERE ${tenantCondition(query.tenantIds)} AND ts >= ${query.range.from} AND ts < ${query.range.to}
      AND ${filterSql(query.filter, rawColumns)}`;
}

function dailyRows(query: ReportQuery, tenant: RawBuilder<unknown> | ReturnType<typeof sql.ref> = tenantKey(query)): RawBuilder<unknown> {
  return sql`
    SELECT ${tenant} AS t, ${dailyBucket(query.groupBy)} AS b, currency AS cur, requests,
      prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens,
      CASE WHEN status = 'error' THEN requests ELSE 0 END AS errors,
      CASE WHEN status = 'refused' THEN requests ELSE 0 END AS refused,
      CASE WHEN status = 'cancelled' THEN requests ELSE 0 END AS cancelled,
      cache_hits, estimated, cost_micros,
      CASE WHEN status <> 'refused' THEN latency_ms_sum ELSE 0 END AS latency_sum,
      CASE WHEN status <> 'refused' THEN requests ELSE 0 END AS latency_count
    FROM usage_daily
    WHERE ${tenantCondition(query.tenantIds)} AND day >= ${dateOnly(query.range.from)}::date AND day < ${dateOnly(query.range.to)}::date
      AND ${filterSql(query.filter, dailyColumns)}`;
}

const dateOnly = (date: Date) => date.toISOString().slice(0, 10);

function partitionName(monthStart: Date): string {
  return `usage_event_p${monthStart.getUTCFullYear()}${String(monthStart.getUTCMonth() + 1).padStart(2, '0')}`;
}

function monthsBefore(monthStart: Date, months: number): Date {
  return new Date(Date.UTC(monthStart.getUTCFullYear(), monthStart.getUTCMonth() - months, 1));
}

/** One statement: insert the new events, then add exactly those to the daily rollup. */
function insertStatement(events: readonly UsageEvent[]) {
  const payload = JSON.stringify(
    events.map((e) => ({
      event_id: e.eventId,
      request_id: e.requestId,
      ts: e.ts.toISOString(),
      tenant_id: e.tenantId,
      user_id: e.userId,
      api_key_id: e.apiKeyId,
      requested_model: e.requestedModel,
      served_model: e.servedModel,
      provider: e.provider,
      deployment: e.deployment,
      kind: e.kind,
      prompt_tokens: e.promptTokens,
      completion_tokens: e.completionTokens,
      total_tokens: e.totalTokens,
      tokens_estimated: e.tokensEstimated,
      cached_tokens: e.cachedTokens,
      reasoning_tokens: e.reasoningTokens,
      ttft_ms: e.ttftMs,
      latency_ms: e.latencyMs,
      status: e.status,
      error_code: e.errorCode,
      cache_hit: e.cacheHit,
      cost_micros: e.costMicros,
      currency: e.currency,
      node: e.node,
      route: e.route,
      route_rule: e.routeRule,
      experiment_id: e.experimentId,
      variant: e.variant,
      template_name: e.templateName,
      template_version: e.templateVersion,
    })),
  );
  return sql<{ inserted: number }>`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${payload}::jsonb) AS r(
        event_id text, request_id text, ts timestamptz, tenant_id text, user_id text, api_key_id text,
        requested_model text, served_model text, provider text, deployment text, kind text,
        prompt_tokens integer, completion_tokens integer, total_tokens integer, tokens_estimated boolean,
        cached_tokens integer, reasoning_tokens integer, ttft_ms integer, latency_ms integer, status text, error_code text, cache_hit boolean,
        cost_micros bigint, currency text, node text, route text, route_rule text, experiment_id text, variant text,
        template_name text, template_version integer)
    ),
    ins AS (
      INSERT INTO usage_event (event_id, request_id, ts, tenant_id, user_id, api_key_id, requested_model, served_model,
        provider, deployment, kind, prompt_tokens, completion_tokens, total_tokens, tokens_estimated, cached_tokens,
        reasoning_tokens, ttft_ms, latency_ms, status, error_code, cache_hit, cost_micros, currency, node,
        route, route_rule, experiment_id, variant, template_name, template_version)
      SELECT event_id, request_id, ts, tenant_id, user_id, api_key_id, requested_model, served_model,
        provider, deployment, kind, prompt_tokens, completion_tokens, total_tokens, tokens_estimated, cached_tokens,
        reasoning_tokens, ttft_ms, latency_ms, status, error_code, cache_hit, cost_micros, currency, node,
        route, route_rule, experiment_id, variant, template_name, template_version
      FROM input
      ON CONFLICT (event_id, ts) DO NOTHING
      RETURNING tenant_id, ts, requested_model, provider, api_key_id, user_id, status, currency,
        prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens, cache_hit, tokens_estimated, cost_micros, latency_ms
    ),
    rollup AS (
      INSERT INTO usage_daily AS d (tenant_id, day, model, provider, api_key_id, user_id, status, currency,
        requests, prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens, cache_hits, estimated, cost_micros, latency_ms_sum)
      SELECT tenant_id, (ts AT TIME ZONE 'UTC')::date, requested_model, coalesce(provider, ''), coalesce(api_key_id, ''),
        coalesce(user_id, ''), status, currency, count(*), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens),
        sum(cached_tokens), sum(reasoning_tokens), count(*) FILTER (WHERE cache_hit), count(*) FILTER (WHERE tokens_estimated), sum(cost_micros), sum(latency_ms)
      FROM ins
      GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
      -- A fixed order takes row locks in the same order in every transaction, so concurrent nodes do not deadlock.
      ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
      ON CONFLICT (tenant_id, day, model, provider, api_key_id, user_id, status, currency) DO UPDATE SET
        requests = d.requests + excluded.requests,
        prompt_tokens = d.prompt_tokens + excluded.prompt_tokens,
        completion_tokens = d.completion_tokens + excluded.completion_tokens,
        total_tokens = d.total_tokens + excluded.total_tokens,
        cached_tokens = d.cached_tokens + excluded.cached_tokens,
        reasoning_tokens = d.reasoning_tokens + excluded.reasoning_tokens,
        cache_hits = d.cache_hits + excluded.cache_hits,
        estimated = d.estimated + excluded.estimated,
        cost_micros = d.cost_micros + excluded.cost_micros,
        latency_ms_sum = d.latency_ms_sum + excluded.latency_ms_sum
    )
    SELECT count(*)::int AS inserted FROM ins
  `;
}

function fromRow(row: UsageEventRow): UsageEvent {
  return {
    eventId: row.event_id,
    requestId: row.request_id,
    ts: row.ts,
    tenantId: row.tenant_id,
    userId: row.user_id,
    apiKeyId: row.api_key_id,
    requestedModel: row.requested_model,
    servedModel: row.served_model,
    provider: row.provider,
    deployment: row.deployment,
    kind: row.kind as UsageKind,
    promptTokens: row.prompt_tokens,
    completionTokens: row.completion_tokens,
    totalTokens: row.total_tokens,
    tokensEstimated: row.tokens_estimated,
    cachedTokens: row.cached_tokens,
    reasoningTokens: row.reasoning_tokens,
    ttftMs: row.ttft_ms,
    latencyMs: row.latency_ms,
    status: row.status as UsageStatus,
    errorCode: row.error_code,
    cacheHit: row.cache_hit,
    costMicros: Number(row.cost_micros),
    currency: row.currency,
    node: row.node,
    route: row.route,
    routeRule: row.route_rule,
    experimentId: row.experiment_id,
    variant: row.variant,
    templateName: row.template_name,
    templateVersion: row.template_version,
  };
}

