import type { UsageEvent, UsageStatus } from './usage-event.ts';

/** A half-open interval [from, to) in UTC. */
export interface DateRange {
  from: Date;
  to: Date;
}

export const usageGroupings = ['hour', 'day', 'month', 'model', 'provider', 'apiKey', 'user'] as const;
export type UsageGroupBy = (typeof usageGroupings)[number];
export const timeGroupings: readonly UsageGroupBy[] = ['hour', 'day', 'month'];

/** Each list, when given and not empty, keeps only events whose value is one of it. */
export interface UsageFilter {
  models?: readonly string[];
  providers?: readonly string[];
  apiKeyIds?: readonly string[];
  userIds?: readonly string[];
  statuses?: readonly UsageStatus[];
}

export interface CostAmount {
  currency: string;
  micros: number;
}

export interface LatencyStats {
  avgMs: number;
  p50Ms: number;
  p95Ms: number;
}

export interface UsageTotals {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Prompt tokens the upstreams served from their prompt caches. */
  cachedTokens: number;
  /** Completion tokens spent on reasoning. */
  reasoningTokens: number;
  errors: number;
  refused: number;
  cancelled: number;
  cacheHits: number;
  /** Requests whose token counts were estimated locally. */
  estimated: number;
  /** One entry per currency the events were priced in, sorted by currency. */
  costs: CostAmount[];
  /** Over requests that were not refused; null when there were none, or when not asked for. */
  latency: LatencyStats | null;
}

export interface UsageBucket {
  /** The group's value: a model, provider, API key id or user id (null: none), or the start of a time bucket as ISO 8601. */
  key: string | null;
  /** For time buckets, their half-open span. */
  start: Date | null;
  end: Date | null;
  totals: UsageTotals;
}

export interface UsageReport {
  totals: UsageTotals;
  buckets: UsageBucket[];
}

export interface ReportQuery {
  /** The tenants to report on, each separately; null reports on every tenant together (key "*"). */
  tenantIds: readonly string[] | null;
  range: DateRange;
  groupBy: UsageGroupBy | null;
  filter: UsageFilter;
  /** Latency quantiles cost a scan of the raw events in some stores: ask only when they are shown. */
  latency: boolean;
}

export const ALL_TENANTS = '*';

/** What the response cache spared the upstream over a range: requests answered from it and their tokens. */
export interface CacheSavings {
  hits: number;
  tokensSaved: number;
}

export interface CacheSavingsQuery {
  /** One tenant, or null for every tenant together. */
  tenantId: string | null;
  range: DateRange;
  filter: UsageFilter;
}

/** Position in a tenant's events, newest first: (ts, eventId) descending. */
export interface EventCursor {
  ts: Date;
  eventId: string;
}

export interface EventsQuery {
  tenantId: string;
  range: DateRange | null;
  filter: UsageFilter;
  limit: number;
  after: EventCursor | null;
}

export interface ExportQuery {
  tenantId: string;
  range: DateRange;
  filter: UsageFilter;
}

export type TenantRankBy = 'tokens' | 'cost' | 'requests';

export interface TopTenantsQuery {
  range: DateRange;
  by: TenantRankBy;
  limit: number;
  /** Ranking by cost compares amounts in this currency only. */
  currency: string;
}

export interface TenantUsage {
  tenantId: string;
  totals: UsageTotals;
}

export interface InsertOptions {
  /**
   * Names the writer (the meter's spool, stable across restarts). Before a resend the store waits for
   * that writer's earlier attempts still running on the server, which a client-side timeout left behind.
   */
  writerId?: string;
  /**
   * True when an earlier attempt may have stored some of these events (a timeout after sending, a
   * replay after a crash): the store then checks which ids it holds before writing. Default true.
   */
  maybeStored?: boolean;
}

export interface InsertResult {
  inserted: number;
  /** Events already stored (same eventId), not written again. */
  skipped: number;
}

/** A failed write, saying whether any of it may have reached the store. */
export class UsageStoreWriteError extends Error {
  readonly maybeStored: boolean;
  /**
   * True when the store answered and refused a value in the batch (a NUL byte, a lone surrogate, a
   * string too long for an index): resending it unchanged fails again, unlike an outage.
   */
  readonly rejected: boolean;
  constructor(message: string, maybeStored: boolean, options?: { cause?: unknown; rejected?: boolean }) {
    super(message, options);
    this.name = 'UsageStoreWriteError';
    this.maybeStored = maybeStored;
    this.rejected = options?.rejected ?? false;
  }
}

/** Counts of statements a store has sent, for metrics and for tests that bound them. */
export interface StoreCounters {
  reads: number;
  writes: number;
}

/** A caller's judgement of one request's answer: a number, or 1/0 for a boolean. */
export interface Feedback {
  tenantId: string;
  requestId: string;
  metric: string;
  value: number;
  ts: Date;
}

/** Sample moments of a number: enough for a mean and Welch's t. */
export interface Moments {
  count: number;
  mean: number;
  /** Sample variance (n - 1); 0 with fewer than two values. */
  variance: number;
}

/** One feedback metric over a variant's requests (each request's first value). */
export interface MetricStats extends Moments {
  metric: string;
  /** Every value was 0 or 1: a rate, compared as a proportion. */
  binary: boolean;
}

/** One variant's requests in a range, aggregated by the store. */
export interface VariantStats {
  variant: string;
  requests: number;
  errors: number;
  /** Over requests that were not refused. */
  latency: Moments & { p50: number | null; p95: number | null };
  ttftP50: number | null;
  promptTokens: number;
  completionTokens: number;
  /** Cost per request, in micro-units of `currency` (the events' first currency). */
  cost: Moments & { totalMicros: number; currency: string };
  feedback: MetricStats[];
}

export interface ExperimentStatsQuery {
  experimentId: string;
  range: DateRange;
}

/** Where usage events live: ClickHouse, or the SQL database (Postgres or PGlite). One contract suite covers both. */
export interface UsageStore {
  readonly kind: 'clickhouse' | 'postgres' | 'pglite';
  readonly counters: StoreCounters;
  /** Idempotent on eventId: an event already stored is skipped, never doubled. */
  insert(events: readonly UsageEvent[], options?: InsertOptions): Promise<InsertResult>;
  /** One report per tenant (or one for all under ALL_TENANTS), from one statement. */
  report(query: ReportQuery): Promise<Map<string, UsageReport>>;
  /** A page of one tenant's events, newest first. */
  events(query: EventsQuery): Promise<UsageEvent[]>;
  /** Every event of a tenant in a range, oldest first, read in bounded chunks. */
  exportEvents(query: ExportQuery): AsyncIterable<UsageEvent>;
  topTenants(query: TopTenantsQuery): Promise<TenantUsage[]>;
  /** Read from the events themselves (cache hits only), not the rollups. */
  cacheSavings(query: CacheSavingsQuery): Promise<CacheSavings>;
  /** Drops events older than the retention; returns what it removed, for the log. */
  enforceRetention(now: Date): Promise<string[]>;
  ping(): Promise<void>;
  /** True when the tenant has a usage event with this request id. */
  hasRequest(tenantId: string, requestId: string): Promise<boolean>;
  /** Idempotent per (tenant, request, metric): the first value recorded is the one that counts. */
  insertFeedback(feedback: Feedback): Promise<void>;
  /** Each variant of an experiment over a range, in one pass over its events (variants without requests absent). */
  experimentStats(query: ExperimentStatsQuery): Promise<VariantStats[]>;
}
