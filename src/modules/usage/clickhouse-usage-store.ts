import type { ClickHouseClient } from '@clickhouse/client';
import { formatDateTime, identifier, literal } from '../../clickhouse/escape.ts';
import { randomId } from '../../shared/ids.ts';
import { experimentStatsClickhouse } from './experiment-stats-clickhouse.ts';
import type { UsageEvent, UsageKind, UsageStatus } from './usage-event.ts';
import { assembleReports, isAligned, nextBucket, parseCosts, truncate, type ReportRow } from './usage-report.ts';
import {
  ALL_TENANTS,
  UsageStoreWriteError,
  type DateRange,
  type CacheSavings,
  type CacheSavingsQuery,
  type EventsQuery,
  type ExperimentStatsQuery,
  type Feedback,
  type VariantStats,
  type ExportQuery,
  type InsertOptions,
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

// Values reach SQL only through literal(): 18.16 has no query parameters.

const QUERY_ID_PREFIX = 'tollgate-usage-';
// Ids per existence check; the statement is then a few hundred KB, past 18.16's default max_query_size.
const ID_CHECK_CHUNK = 5_000;
// Errors raised before a byte of the insert left this process: nothing can have been stored.
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
// ClickHouse error codes for a value it cannot parse or hold (25: a lone surrogate in a JSON string):
// the same events fail every time, so the meter sets them aside.
const REJECTED = new Set(['6', '25', '26', '27', '38', '41', '53', '69', '70', '72', '117', '131', '321']);

/** The server's error code: the client parses it from current servers' messages, not from 18.16's ("Code: 25, e.displayText() = ..."). */
function serverErrorCode(error: unknown): string | undefined {
  const parsed = (error as { code?: unknown }).code;
  if (typeof parsed === 'string' && /^\d+$/.test(parsed)) return parsed;
  return /^Code: (\d+)[,.]/.exec((error as Error).message ?? '')?.[1];
}
// Windows (ms) tried in turn when paging newest-first, so a page reads recent parts only.
const PAGE_WINDOWS = [3_600_000, 86_400_000, 7 * 86_400_000, 31 * 86_400_000, 366 * 86_400_000];

export interface ClickhouseUsageStoreOptions {
  retentionMonths: number;
  /** Bound on one insert; past it the batch's outcome is unknown and it is checked before a resend. */
  insertTimeoutMs: number;
  /** How long a resend waits for an earlier attempt still running on the server. */
  inflightWaitMs?: number;
  /** CLICKHOUSE_CLUSTER: the rows live in the replicated `<table>_local` tables under Distributed ones. */
  cluster?: string | undefined;
}

const RETAINED_TABLES = [
  ['usage_events', 'ts'],
  ['usage_hourly', 'hour'],
  ['usage_hourly_tokens', 'hour'],
] as const;

interface ChEventRow {
  event_id: string;
  request_id: string;
  ts: string;
  ts_ms: number;
  tenant_id: string;
  user_id: string;
  api_key_id: string;
  requested_model: string;
  served_model: string;
  provider: string;
  deployment: string;
  kind: string;
  status: string;
  error_code: string;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  tokens_estimated: number;
  cached_tokens: number;
  reasoning_tokens: number;
  ttft_ms: number;
  latency_ms: number;
  cache_hit: number;
  cost_micros: number | string;
  currency: string;
  node: string;
  route: string;
  route_rule: string;
  experiment_id: string;
  variant: string;
  template_name: string;
  template_version: number;
}

const EVENT_COLUMNS =
  'event_id, request_id, ts, ts_ms, tenant_id, user_id, api_key_id, requested_model, served_model, provider, deployment, kind, status, error_code, prompt_tokens, completion_tokens, total_tokens, tokens_estimated, cached_tokens, reasoning_tokens, ttft_ms, latency_ms, cache_hit, cost_micros, currency, node, route, route_rule, experiment_id, variant, template_name, template_version';

/**
 * Usage in ClickHouse: usage_events (MergeTree by month, ordered by tenant and time) and the
 * usage_hourly / usage_daily rollups kept by materialized views (clickhouse/0002_usage_rollups.sql).
 */
export class ClickhouseUsageStore implements UsageStore {
  readonly kind = 'clickhouse' as const;
  readonly counters: StoreCounters = { reads: 0, writes: 0 };
  readonly #client: ClickHouseClient;
  readonly #options: ClickhouseUsageStoreOptions & { inflightWaitMs: number };

  constructor(client: ClickHouseClient, options: ClickhouseUsageStoreOptions) {
    this.#client = client;
    this.#options = { inflightWaitMs: 60_000, ...options };
  }

  /** Sets the retention as a table TTL where the server supports TTL (19.6+); older ones rely on enforceRetention(). */
  async prepare(): Promise<{ ttl: boolean }> {
    const [row] = await this.#rows<{ v: string }>('SELECT version() AS v');
    const [major = 0, minor = 0] = (row?.v ?? '0.0').split('.').map(Number);
    if (major < 19 || (major === 19 && minor < 6)) return { ttl: false };
    const months = literal(this.#options.retentionMonths);
    for (const [table, column] of RETAINED_TABLES) {
      const [definition] = await this.#rows<{ q: string }>(
        `SELECT create_table_query AS q FROM system.tables WHERE database = currentDatabase() AND name = ${literal(this.#rowTable(table))}`,
      );
      const wanted = `${column} + toIntervalMonth(${months})`;
      if (definition && !definition.q.replace(/\s+/g, ' ').includes(wanted)) {
        await this.#client.command({ query: `ALTER TABLE ${this.#alterTarget(table)} MODIFY TTL ${column} + INTERVAL ${months} MONTH` });
      }
    }
    return { ttl: true };
  }

  async insert(events: readonly UsageEvent[], options: InsertOptions = {}): Promise<InsertResult> {
    let batch = [...new Map(events.map((e) => [e.eventId, e])).values()];
    const writerId = options.writerId ?? randomId(12);
    const prefix = `${QUERY_ID_PREFIX}${writerId.replace(/[^A-Za-z0-9_]/g, '_')}-`;
    try {
      if (options.maybeStored ?? true) {
        await this.#waitForEarlierAttempts(prefix);
        const stored = await this.#storedIds(batch);
        batch = batch.filter((e) => !stored.has(e.eventId));
      }
    } catch (error) {
      throw new UsageStoreWriteError(`usage insert could not check earlier attempts: ${(error as Error).message}`, true, { cause: error });
    }
    if (batch.length === 0) return { inserted: 0, skipped: events.length };
    this.counters.writes += 1;
    try {
      await this.#client.insert({
        table: 'usage_events',
        values: batch.map(toChRow),
        format: 'JSONEachRow',
        query_id: `${prefix}${randomId(8)}`,
        abort_signal: AbortSignal.timeout(this.#options.insertTimeoutMs),
      });
    } catch (error) {
      const code = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code;
      const notSent = code !== undefined && NOT_SENT.has(code);
      const rejected = REJECTED.has(serverErrorCode(error) ?? '');
      throw new UsageStoreWriteError(`usage insert failed: ${(error as Error).message}`, !notSent, { cause: error, rejected });
    }
    return { inserted: batch.length, skipped: events.length - batch.length };
  }

  async report(query: ReportQuery): Promise<Map<string, UsageReport>> {
    if (query.tenantIds !== null && query.tenantIds.length === 0) return new Map();
    const rows = await this.#rows<ChReportRow>(dailyAnswers(query) ? dailyReportSql(query) : detailedReportSql(query));
    return assembleReports(query, rows.map(toReportRow));
  }

  async hasRequest(tenantId: string, requestId: string): Promise<boolean> {
    const rows = await this.#rows<{ found: number }>(
      `SELECT 1 AS found FROM usage_events WHERE tenant_id = ${literal(tenantId)} AND request_id = ${literal(requestId)} LIMIT 1`,
    );
    return rows.length > 0;
  }

  /** Every repeat is written; reads take each (request, metric)'s earliest value, so a repeat never counts. */
  async insertFeedback(feedback: Feedback): Promise<void> {
    this.counters.writes += 1;
    await this.#client.insert({
      table: 'usage_feedback',
      values: [{ tenant_id: feedback.tenantId, request_id: feedback.requestId, metric: feedback.metric, value: feedback.value, ts: formatDateTime(feedback.ts), ts_ms: feedback.ts.getTime() % 1000 }],
      format: 'JSONEachRow',
    });
  }

  experimentStats(query: ExperimentStatsQuery): Promise<VariantStats[]> {
    return experimentStatsClickhouse((statement) => this.#rows(statement), query, rangeConditions(query.range));
  }

  async cacheSavings(query: CacheSavingsQuery): Promise<CacheSavings> {
    const conditions = [...rangeConditions(query.range), filterSql(query.filter, 'requested_model'), 'cache_hit = 1'];
    if (query.tenantId !== null) conditions.unshift(`tenant_id = ${literal(query.tenantId)}`);
    const [row] = await this.#rows<{ hits: string; tokens: string }>(
      `SELECT count() AS hits, sum(toUInt64(total_tokens)) AS tokens FROM usage_events WHERE ${conditions.join(' AND ')}`,
    );
    return { hits: Number(row?.hits ?? 0), tokensSaved: Number(row?.tokens ?? 0) };
  }

  async events(query: EventsQuery): Promise<UsageEvent[]> {
    const conditions = [`tenant_id = ${literal(query.tenantId)}`, filterSql(query.filter, 'requested_model')];
    if (query.range) conditions.push(...rangeConditions(query.range));
    let anchor = query.range?.to.getTime() ?? Date.now();
    if (query.after) {
      const ms = query.after.ts.getTime();
      anchor = Math.min(anchor, ms);
      conditions.push(
        `ts <= ${literal(new Date(ms))}`,
        `(${TS_MS} < ${literal(ms)} OR (${TS_MS} = ${literal(ms)} AND event_id < ${literal(query.after.eventId)}))`,
      );
    }
    const floor = query.range?.from.getTime() ?? 0;
    for (const window of [...PAGE_WINDOWS, Number.POSITIVE_INFINITY]) {
      const lower = anchor - window;
      const bounded = Number.isFinite(lower) && lower > floor;
      const where = bounded ? [...conditions, `ts >= ${literal(new Date(Math.floor(lower / 1000) * 1000))}`] : conditions;
      const rows = await this.#rows<ChEventRow>(
        `SELECT ${EVENT_COLUMNS} FROM usage_events WHERE ${where.join(' AND ')}
         ORDER BY ts DESC, ts_ms DESC, event_id DESC LIMIT ${literal(query.limit)}`,
      );
      if (rows.length >= query.limit || !bounded) return rows.map(fromChRow);
    }
    return [];
  }

  async *exportEvents(query: ExportQuery): AsyncIterable<UsageEvent> {
    // Day by day: each query sorts one day of one tenant on the server, and rows stream from there.
    // Only the days that hold events are walked, so a wide range costs one query per day of data.
    this.counters.reads += 1;
    const bounds = await this.#client.query({
      query: `SELECT toUnixTimestamp(min(ts)) AS first, toUnixTimestamp(max(ts)) AS last, count() AS n FROM usage_events
        WHERE tenant_id = ${literal(query.tenantId)} AND ${rangeConditions(query.range).join(' AND ')}`,
      format: 'JSONEachRow',
    });
    const [span] = (await bounds.json()) as { first: string | number; last: string | number; n: string | number }[];
    if (!span || Number(span.n) === 0) return;
    const firstDay = truncate(new Date(Math.max(query.range.from.getTime(), Number(span.first) * 1000)), 'day');
    const lastEvent = new Date(Number(span.last) * 1000 + 1000);
    for (let day = firstDay; day < query.range.to && day < lastEvent; day = nextBucket(day, 'day')) {
      const end = nextBucket(day, 'day');
      const window = { from: day < query.range.from ? query.range.from : day, to: end > query.range.to ? query.range.to : end };
      this.counters.reads += 1;
      const result = await this.#client.query({
        query: `SELECT ${EVENT_COLUMNS} FROM usage_events
          WHERE tenant_id = ${literal(query.tenantId)} AND ${rangeConditions(window).join(' AND ')} AND ${filterSql(query.filter, 'requested_model')}
          ORDER BY ts, ts_ms, event_id`,
        format: 'JSONEachRow',
      });
      for await (const rows of result.stream<ChEventRow>()) {
        for (const row of rows) yield fromChRow(row.json());
      }
    }
  }

  async topTenants(query: TopTenantsQuery): Promise<TenantUsage[]> {
    const dayAligned = isAligned(query.range, 'day');
    const hourly = isAligned(query.range, 'hour');
    const reportQuery: ReportQuery = { tenantIds: null, range: query.range, groupBy: null, filter: {}, latency: false };
    const inner = dayAligned
      ? `tenant_id AS t, '' AS b, currency AS cur, ${DAILY_SUMS}
         FROM ${dailySource(`day >= toDate(${literal(formatDay(query.range.from))}) AND day < toDate(${literal(formatDay(query.range.to))})`)}
         GROUP BY t, b, cur`
      : hourly
        ? hourlyInner(reportQuery, "''", 'tenant_id')
        : rawInner(reportQuery, "''", 'tenant_id');
    const order =
      query.by === 'tokens' ? 's_total' : query.by === 'requests' ? 's_requests' : `sumIf(n_cost, cur = ${literal(query.currency)})`;
    const rows = await this.#rows<ChReportRow>(`
      SELECT t, b, 1 AS is_total, ${OUTER_SUMS}, groupArray((cur, n_cost)) AS costs
      FROM (SELECT ${inner})
      GROUP BY t, b
      ORDER BY ${order} DESC, t ASC
      LIMIT ${literal(query.limit)}`);
    return rows.map((row) => {
      const tenantId = row.t;
      const report = assembleReports({ ...reportQuery, tenantIds: [tenantId] }, [toReportRow(row)]);
      return { tenantId, totals: (report.get(tenantId) as UsageReport).totals };
    });
  }

  /** Drops whole monthly partitions past the retention: works on every version, TTL or not. */
  async enforceRetention(now: Date): Promise<string[]> {
    const cutoff = truncate(now, 'month');
    const keep = (cutoff.getUTCFullYear() * 12 + cutoff.getUTCMonth()) - this.#options.retentionMonths;
    const dropped: string[] = [];
    for (const [table] of RETAINED_TABLES) {
      const partitions = await this.#rows<{ partition: string }>(
        `SELECT DISTINCT partition FROM system.parts WHERE database = currentDatabase() AND active AND table = ${literal(this.#rowTable(table))}`,
      );
      for (const { partition } of partitions) {
        const yyyymm = Number(partition.replace(/'/g, ''));
        if (!Number.isInteger(yyyymm)) continue;
        const monthIndex = Math.floor(yyyymm / 100) * 12 + (yyyymm % 100) - 1;
        if (monthIndex >= keep) continue;
        await this.#client.command({ query: `ALTER TABLE ${this.#alterTarget(table)} DROP PARTITION ${literal(yyyymm)}` });
        dropped.push(`${table}:${yyyymm}`);
      }
    }
    return dropped;
  }

  /** Where a table's rows are: itself, or on a cluster its replicated `_local` twin. */
  #rowTable(table: string): string {
    return this.#options.cluster ? `${table}_local` : table;
  }

  /** A table's rows to alter: on a cluster, the replicated tables of every shard. */
  #alterTarget(table: string): string {
    return this.#options.cluster ? `${table}_local ON CLUSTER ${identifier(this.#options.cluster)}` : table;
  }

  async ping(): Promise<void> {
    const result = await this.#client.ping();
    if (!result.success) throw result.error;
  }

  async #rows<T>(query: string, settings?: Record<string, string>): Promise<T[]> {
    this.counters.reads += 1;
    const result = await this.#client.query({ query, format: 'JSONEachRow', ...(settings ? { clickhouse_settings: settings } : {}) });
    return result.json<T>();
  }

  /** An earlier attempt may still be running on the server (our client gave up, the server did not). */
  async #waitForEarlierAttempts(prefix: string): Promise<void> {
    const deadline = Date.now() + this.#options.inflightWaitMs;
    for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
      const [row] = await this.#rows<{ n: string }>(
        `SELECT count() AS n FROM system.processes WHERE startsWith(query_id, ${literal(prefix)})`,
      );
      if (Number(row?.n ?? 0) === 0) return;
      if (Date.now() > deadline) throw new Error(`an earlier insert of this batch is still running after ${this.#options.inflightWaitMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  async #storedIds(batch: readonly UsageEvent[]): Promise<Set<string>> {
    const stored = new Set<string>();
    for (let i = 0; i < batch.length; i += ID_CHECK_CHUNK) {
      const chunk = batch.slice(i, i + ID_CHECK_CHUNK);
      const tenants = [...new Set(chunk.map((e) => e.tenantId))];
      const times = chunk.map((e) => e.ts.getTime());
      const rows = await this.#rows<{ event_id: string }>(
        `SELECT event_id FROM usage_events
         WHERE tenant_id IN (${tenants.map(literal).join(', ')})
           AND ts >= ${literal(new Date(Math.floor(Math.min(...times) / 1000) * 1000))}
           AND ts <= ${literal(new Date(Math.max(...times)))}
           AND event_id IN (${chunk.map((e) => literal(e.eventId)).join(', ')})`,
        { max_query_size: '16777216' },
      );
      for (const row of rows) stored.add(row.event_id);
    }
    return stored;
  }
}

const TS_MS = '(toUInt64(toUnixTimestamp(ts)) * 1000 + ts_ms)';

/** [from, to) at millisecond precision over (ts seconds, ts_ms), with whole-second bounds the index can use. */
function rangeConditions(range: DateRange): string[] {
  const from = range.from.getTime();
  const to = range.to.getTime();
  return [
    `ts >= ${literal(new Date(Math.floor(from / 1000) * 1000))}`,
    `ts <= ${literal(new Date(Math.floor(to / 1000) * 1000))}`,
    `${TS_MS} >= ${literal(from)}`,
    `${TS_MS} < ${literal(to)}`,
  ];
}

function filterSql(filter: UsageFilter, modelColumn: 'requested_model' | 'model'): string {
  const parts = ['1'];
  const add = (column: string, values: readonly string[] | undefined) => {
    if (values && values.length > 0) parts.push(`${column} IN (${values.map(literal).join(', ')})`);
  };
  add(modelColumn, filter.models);
  add('provider', filter.providers);
  add('api_key_id', filter.apiKeyIds);
  add('user_id', filter.userIds);
  add('status', filter.statuses);
  return `(${parts.join(' AND ')})`;
}

function tenantSql(query: ReportQuery, column: string | undefined): { key: string; where: string } {
  if (column) return { key: column, where: '1' };
  if (query.tenantIds === null) return { key: literal(ALL_TENANTS), where: '1' };
  return { key: 'tenant_id', where: `tenant_id IN (${query.tenantIds.map(literal).join(', ')})` };
}

const epochMsText = (expr: string) => `toString(toUInt64(toUnixTimestamp(${expr})) * 1000)`;

function bucketSql(groupBy: UsageGroupBy | null, time: 'ts' | 'hour', hourly: boolean): string {
  switch (groupBy) {
    case null:
      return "''";
    case 'hour':
      return epochMsText(`toStartOfHour(${time}, 'UTC')`);
    case 'day':
      return epochMsText(`toStartOfDay(${time}, 'UTC')`);
    case 'month':
      return epochMsText(`toDateTime(toStartOfMonth(${time}, 'UTC'), 'UTC')`);
    case 'model':
      return hourly ? 'model' : 'requested_model';
    case 'provider':
      return 'provider';
    case 'apiKey':
      return 'api_key_id';
    case 'user':
      return 'user_id';
  }
}

// Inner aliases are n_*, outer ones s_*: none may equal a source column, or old and new analyzers
// would resolve them differently (an alias shadowing a column inside another aggregate).
const METRICS = ['requests', 'prompt', 'completion', 'total', 'errors', 'refused', 'cancelled', 'cache_hits', 'estimated', 'latency_sum', 'latency_count', 'cached', 'reasoning'] as const;
const OUTER_SUMS = METRICS.map((m) => `sum(n_${m}) AS s_${m}`).join(', ');

const DAILY_SUMS = `sum(requests) AS n_requests, sum(prompt_tokens_sum) AS n_prompt, sum(completion_tokens_sum) AS n_completion,
  sum(total_tokens_sum) AS n_total, sum(errors) AS n_errors, sum(refused) AS n_refused, sum(cancelled) AS n_cancelled,
  sum(cache_hits) AS n_cache_hits, sum(estimated) AS n_estimated, sum(cost_micros_sum) AS n_cost,
  sum(latency_ms_sum) AS n_latency_sum, sum(latency_count) AS n_latency_count,
  sum(cached_tokens_sum) AS n_cached, sum(reasoning_tokens_sum) AS n_reasoning`;

// The token details live in tables of their own (clickhouse/0006): each rollup is read together with
// its twin, both with the same conditions, the columns the other lacks as zeros.
const EMPTY_LATENCY_STATE = "arrayReduce('quantilesTDigestState(0.5, 0.95)', emptyArrayUInt32())";

function hourlySource(where: string): string {
  return `(SELECT tenant_id, hour, model, provider, api_key_id, user_id, status, currency, requests, prompt_tokens_sum,
        completion_tokens_sum, total_tokens_sum, cache_hits, estimated, cost_micros_sum, latency_ms_sum, latency_q,
        toUInt64(0) AS cached_tokens_sum, toUInt64(0) AS reasoning_tokens_sum
      FROM usage_hourly WHERE ${where}
      UNION ALL
      SELECT tenant_id, hour, model, provider, api_key_id, user_id, status, currency, toUInt64(0), toUInt64(0),
        toUInt64(0), toUInt64(0), toUInt64(0), toUInt64(0), toInt64(0), toUInt64(0), ${EMPTY_LATENCY_STATE},
        cached_tokens_sum, reasoning_tokens_sum
      FROM usage_hourly_tokens WHERE ${where})`;
}

function dailySource(where: string): string {
  return `(SELECT tenant_id, day, model, currency, requests, prompt_tokens_sum, completion_tokens_sum, total_tokens_sum, errors,
        refused, cancelled, cache_hits, estimated, cost_micros_sum, latency_ms_sum, latency_count,
        toUInt64(0) AS cached_tokens_sum, toUInt64(0) AS reasoning_tokens_sum
      FROM usage_daily WHERE ${where}
      UNION ALL
      SELECT tenant_id, day, model, currency, toUInt64(0), toUInt64(0), toUInt64(0), toUInt64(0), toUInt64(0),
        toUInt64(0), toUInt64(0), toUInt64(0), toUInt64(0), toInt64(0), toUInt64(0), toUInt64(0),
        cached_tokens_sum, reasoning_tokens_sum
      FROM usage_daily_tokens WHERE ${where})`;
}

/** One row per (tenant, bucket, currency) from the hourly rollup; the range is whole hours. */
function hourlyInner(query: ReportQuery, bucket: string, tenantColumn?: string): string {
  const tenant = tenantSql(query, tenantColumn);
  return `${tenant.key} AS t, ${bucket} AS b, currency AS cur,
      sum(requests) AS n_requests, sum(prompt_tokens_sum) AS n_prompt, sum(completion_tokens_sum) AS n_completion,
      sum(total_tokens_sum) AS n_total, sumIf(requests, status = 'error') AS n_errors, sumIf(requests, status = 'refused') AS n_refused,
      sumIf(requests, status = 'cancelled') AS n_cancelled, sum(cache_hits) AS n_cache_hits, sum(estimated) AS n_estimated,
      sum(cost_micros_sum) AS n_cost, sumIf(latency_ms_sum, status != 'refused') AS n_latency_sum,
      sumIf(requests, status != 'refused') AS n_latency_count, sum(cached_tokens_sum) AS n_cached, sum(reasoning_tokens_sum) AS n_reasoning
      ${query.latency ? ", quantilesTDigestMergeStateIf(0.5, 0.95)(latency_q, status != 'refused') AS lq" : ''}
    FROM ${hourlySource(`${tenant.where} AND hour >= ${literal(query.range.from)} AND hour < ${literal(query.range.to)} AND ${filterSql(query.filter, 'model')}`)}
    GROUP BY t, b, cur`;
}

/** The same shape straight from usage_events, for ranges that do not fall on whole hours. */
function rawInner(query: ReportQuery, bucket: string, tenantColumn?: string): string {
  const tenant = tenantSql(query, tenantColumn);
  return `${tenant.key} AS t, ${bucket} AS b, currency AS cur,
      count() AS n_requests, sum(toUInt64(prompt_tokens)) AS n_prompt, sum(toUInt64(completion_tokens)) AS n_completion,
      sum(toUInt64(total_tokens)) AS n_total, countIf(status = 'error') AS n_errors, countIf(status = 'refused') AS n_refused,
      countIf(status = 'cancelled') AS n_cancelled, sum(toUInt64(cache_hit)) AS n_cache_hits, sum(toUInt64(tokens_estimated)) AS n_estimated,
      sum(cost_micros) AS n_cost, sumIf(toUInt64(latency_ms), status != 'refused') AS n_latency_sum,
      countIf(status != 'refused') AS n_latency_count, sum(toUInt64(cached_tokens)) AS n_cached, sum(toUInt64(reasoning_tokens)) AS n_reasoning
      ${query.latency ? ", quantilesTDigestStateIf(0.5, 0.95)(latency_ms, status != 'refused') AS lq" : ''}
    FROM usage_events
    WHERE ${tenant.where} AND ${rangeConditions(query.range).join(' AND ')} AND ${filterSql(query.filter, 'requested_model')}
    GROUP BY t, b, cur`;
}

/**
 * Whole days, grouped by time or model and filtered by model at most: usage_daily (the billing view)
 * and usage_daily_latency answer it from a few rows per tenant and day.
 */
function dailyAnswers(query: ReportQuery): boolean {
  const { filter } = query;
  const onlyModels = [filter.providers, filter.apiKeyIds, filter.userIds, filter.statuses].every((list) => !list || list.length === 0);
  return onlyModels && isAligned(query.range, 'day') && (query.groupBy === null || ['day', 'month', 'model'].includes(query.groupBy));
}

function dailyBucketSql(groupBy: UsageGroupBy | null): string {
  if (groupBy === 'day') return epochMsText("toDateTime(day, 'UTC')");
  if (groupBy === 'month') return epochMsText("toDateTime(toStartOfMonth(day), 'UTC')");
  if (groupBy === 'model') return 'model';
  return "''";
}

// An empty latency state, so rows of counts and rows of latency can share one UNION ALL (no JOIN).
const EMPTY_LATENCY = "arrayReduce('quantilesTDigestStateIf(0.5, 0.95)', [toUInt32(0)], [0])";
// UNION ALL matches columns by position: the same order as DAILY_SUMS, with zeros.
const ZERO_DAILY = ['requests', 'prompt', 'completion', 'total', 'errors', 'refused', 'cancelled', 'cache_hits', 'estimated', 'cost', 'latency_sum', 'latency_count', 'cached', 'reasoning']
  .map((m) => (m === 'cost' ? 'toInt64(0) AS n_cost' : `toUInt64(0) AS n_${m}`))
  .join(', ');

function dailyReportSql(query: ReportQuery): string {
  const tenant = tenantSql(query, undefined);
  const where = `${tenant.where} AND day >= toDate(${literal(formatDay(query.range.from))}) AND day < toDate(${literal(formatDay(query.range.to))})
    AND ${filterSql(query.filter, 'model')}`;
  const select = (bucket: string) => {
    const counts = `${tenant.key} AS t, ${bucket} AS b, currency AS cur, ${DAILY_SUMS}${query.latency ? `, ${EMPTY_LATENCY} AS lq` : ''}
      FROM ${dailySource(where)} GROUP BY t, b, cur`;
    if (!query.latency) return [counts];
    return [counts, `${tenant.key} AS t, ${bucket} AS b, '' AS cur, ${ZERO_DAILY}, latency_q AS lq FROM usage_daily_latency WHERE ${where}`];
  };
  const branches = [
    ...select("''").map((part) => `SELECT 1 AS is_total, ${part}`),
    ...(query.groupBy === null ? [] : select(dailyBucketSql(query.groupBy)).map((part) => `SELECT 0 AS is_total, ${part}`)),
  ];
  return `SELECT t, b, is_total, ${OUTER_SUMS}, groupArrayIf((cur, n_cost), cur != '') AS costs
      ${query.latency ? ', quantilesTDigestMerge(0.5, 0.95)(lq) AS q' : ''}
    FROM (${branches.join(' UNION ALL ')})
    GROUP BY t, b, is_total`;
}

/** Any other report: the hourly rollup for whole hours, else the events themselves. */
function detailedReportSql(query: ReportQuery): string {
  const hourly = isAligned(query.range, 'hour');
  const inner = (bucket: string) => (hourly ? hourlyInner(query, bucket) : rawInner(query, bucket));
  const branches = [`SELECT 1 AS is_total, ${inner("''")}`];
  if (query.groupBy !== null) branches.push(`SELECT 0 AS is_total, ${inner(bucketSql(query.groupBy, hourly ? 'hour' : 'ts', hourly))}`);
  return `SELECT t, b, is_total, ${OUTER_SUMS}, groupArray((cur, n_cost)) AS costs
      ${query.latency ? ', quantilesTDigestMerge(0.5, 0.95)(lq) AS q' : ''}
    FROM (${branches.join(' UNION ALL ')})
    GROUP BY t, b, is_total`;
}

interface ChReportRow {
  t: string;
  b: string;
  is_total: number;
  s_requests: string;
  s_prompt: string;
  s_completion: string;
  s_total: string;
  s_errors: string;
  s_refused: string;
  s_cancelled: string;
  s_cache_hits: string;
  s_estimated: string;
  s_latency_sum: string;
  s_latency_count: string;
  s_cached: string;
  s_reasoning: string;
  costs: [string, string][];
  q?: number[];
}

function toReportRow(row: ChReportRow): ReportRow {
  return {
    tenantId: row.t,
    bucket: Number(row.is_total) === 1 ? null : row.b,
    requests: Number(row.s_requests),
    promptTokens: Number(row.s_prompt),
    completionTokens: Number(row.s_completion),
    totalTokens: Number(row.s_total),
    cachedTokens: Number(row.s_cached),
    reasoningTokens: Number(row.s_reasoning),
    errors: Number(row.s_errors),
    refused: Number(row.s_refused),
    cancelled: Number(row.s_cancelled),
    cacheHits: Number(row.s_cache_hits),
    estimated: Number(row.s_estimated),
    costs: parseCosts(row.costs),
    latencySum: Number(row.s_latency_sum),
    latencyCount: Number(row.s_latency_count),
    p50: row.q && row.q.length === 2 ? Number(row.q[0]) : null,
    p95: row.q && row.q.length === 2 ? Number(row.q[1]) : null,
  };
}

const formatDay = (date: Date) => date.toISOString().slice(0, 10);

function toChRow(e: UsageEvent): ChEventRow {
  const ms = e.ts.getTime();
  return {
    event_id: e.eventId,
    request_id: e.requestId,
    ts: formatDateTime(e.ts),
    ts_ms: ms % 1000,
    tenant_id: e.tenantId,
    user_id: e.userId ?? '',
    api_key_id: e.apiKeyId ?? '',
    requested_model: e.requestedModel,
    served_model: e.servedModel ?? '',
    provider: e.provider ?? '',
    deployment: e.deployment ?? '',
    kind: e.kind,
    status: e.status,
    error_code: e.errorCode ?? '',
    prompt_tokens: e.promptTokens,
    completion_tokens: e.completionTokens,
    total_tokens: e.totalTokens,
    tokens_estimated: e.tokensEstimated ? 1 : 0,
    cached_tokens: e.cachedTokens,
    reasoning_tokens: e.reasoningTokens,
    ttft_ms: e.ttftMs ?? 0,
    latency_ms: e.latencyMs,
    cache_hit: e.cacheHit ? 1 : 0,
    cost_micros: e.costMicros,
    currency: e.currency,
    node: e.node,
    route: e.route ?? '',
    route_rule: e.routeRule ?? '',
    experiment_id: e.experimentId ?? '',
    variant: e.variant ?? '',
    template_name: e.templateName ?? '',
    template_version: e.templateVersion ?? 0,
  };
}

const orNull = (value: string) => (value === '' ? null : value);

function fromChRow(row: ChEventRow): UsageEvent {
  return {
    eventId: row.event_id,
    requestId: row.request_id,
    ts: new Date(Date.parse(`${row.ts.replace(' ', 'T')}Z`) + Number(row.ts_ms)),
    tenantId: row.tenant_id,
    userId: orNull(row.user_id),
    apiKeyId: orNull(row.api_key_id),
    requestedModel: row.requested_model,
    servedModel: orNull(row.served_model),
    provider: orNull(row.provider),
    deployment: orNull(row.deployment),
    kind: row.kind as UsageKind,
    promptTokens: Number(row.prompt_tokens),
    completionTokens: Number(row.completion_tokens),
    totalTokens: Number(row.total_tokens),
    tokensEstimated: Number(row.tokens_estimated) === 1,
    cachedTokens: Number(row.cached_tokens),
    reasoningTokens: Number(row.reasoning_tokens),
    ttftMs: Number(row.ttft_ms) === 0 ? null : Number(row.ttft_ms),
    latencyMs: Number(row.latency_ms),
    status: row.status as UsageStatus,
    errorCode: orNull(row.error_code),
    cacheHit: Number(row.cache_hit) === 1,
    costMicros: Number(row.cost_micros),
    currency: row.currency,
    node: row.node,
    route: orNull(row.route),
    routeRule: orNull(row.route_rule),
    experimentId: orNull(row.experiment_id),
    variant: orNull(row.variant),
    templateName: orNull(row.template_name),
    templateVersion: Number(row.template_version) === 0 ? null : Number(row.template_version),
  };
}
