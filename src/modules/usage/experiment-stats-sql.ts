import { sql, type Kysely } from 'kysely';
import type { ExperimentStatsQuery, MetricStats, VariantStats } from './usage-store.ts';
import type { UsageTables } from './usage.table.ts';

interface VariantRow {
  variant: string;
  requests: string | number;
  errors: string | number;
  latency_count: string | number;
  latency_mean: number | null;
  latency_var: number | null;
  latency_p50: number | null;
  latency_p95: number | null;
  ttft_p50: number | null;
  prompt_tokens: string | number;
  completion_tokens: string | number;
  cost_total: string | number;
  cost_mean: number | null;
  cost_var: number | null;
  currency: string;
}

interface FeedbackRow {
  variant: string;
  metric: string;
  count: string | number;
  mean: number;
  variance: number | null;
  binary: boolean;
}

/** An experiment's variants aggregated in the SQL store: one statement for the events, one for their feedback. */
export async function experimentStatsSql(db: Kysely<UsageTables>, query: ExperimentStatsQuery): Promise<VariantStats[]> {
  const events = sql`
    SELECT variant, tenant_id, request_id, status, latency_ms, ttft_ms, prompt_tokens, completion_tokens, cost_micros, currency
    FROM usage_event
    WHERE experiment_id = ${query.experimentId} AND variant IS NOT NULL
      AND ts >= ${query.range.from.toISOString()}::timestamptz AND ts < ${query.range.to.toISOString()}::timestamptz
  `;
  const served = sql`FILTER (WHERE status <> 'refused')`;
  const { rows } = await sql<VariantRow>`
    WITH e AS (${events})
    SELECT variant, count(*) AS requests, count(*) FILTER (WHERE status = 'error') AS errors,
      count(*) ${served} AS latency_count, (avg(latency_ms) ${served})::float8 AS latency_mean, (var_samp(latency_ms) ${served})::float8 AS latency_var,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) ${served} AS latency_p50,
      percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) ${served} AS latency_p95,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY ttft_ms) FILTER (WHERE ttft_ms IS NOT NULL) AS ttft_p50,
      sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens,
      sum(cost_micros) AS cost_total, avg(cost_micros)::float8 AS cost_mean, var_samp(cost_micros)::float8 AS cost_var, min(currency) AS currency
    FROM e GROUP BY variant ORDER BY variant
  `.execute(db);
  // Each request once, even if a client's retries left it more than one event.
  const feedback = await sql<FeedbackRow>`
    WITH e AS (${events})
    SELECT r.variant, f.metric, count(*) AS count, avg(f.value) AS mean, var_samp(f.value) AS variance, bool_and(f.value IN (0, 1)) AS binary
    FROM (SELECT DISTINCT variant, tenant_id, request_id FROM e) r
    JOIN usage_feedback f ON f.tenant_id = r.tenant_id AND f.request_id = r.request_id
    GROUP BY r.variant, f.metric ORDER BY r.variant, f.metric
  `.execute(db);
  return rows.map((row) => ({
    variant: row.variant,
    requests: Number(row.requests),
    errors: Number(row.errors),
    latency: { count: Number(row.latency_count), mean: row.latency_mean ?? 0, variance: row.latency_var ?? 0, p50: numberOrNull(row.latency_p50), p95: numberOrNull(row.latency_p95) },
    ttftP50: numberOrNull(row.ttft_p50),
    promptTokens: Number(row.prompt_tokens),
    completionTokens: Number(row.completion_tokens),
    cost: { count: Number(row.requests), mean: row.cost_mean ?? 0, variance: row.cost_var ?? 0, totalMicros: Number(row.cost_total), currency: row.currency },
    feedback: feedback.rows.filter((f) => f.variant === row.variant).map((f): MetricStats => ({ metric: f.metric, count: Number(f.count), mean: Number(f.mean), variance: Number(f.variance ?? 0), binary: f.binary })),
  }));
}

const numberOrNull = (value: number | string | null) => (value === null ? null : Number(value));
