import { literal } from '../../clickhouse/escape.ts';
import type { ExperimentStatsQuery, MetricStats, VariantStats } from './usage-store.ts';

interface VariantRow {
  variant: string;
  requests: string | number;
  errors: string | number;
  latency_count: string | number;
  latency_mean: number;
  latency_var: number;
  latency_p50: number;
  latency_p95: number;
  ttft_count: string | number;
  ttft_p50: number;
  prompt_tokens: string | number;
  completion_tokens: string | number;
  cost_total: string | number;
  cost_mean: number;
  cost_var: number;
  currency: string;
}

interface FeedbackRow {
  variant: string;
  metric: string;
  count: string | number;
  mean: number;
  variance: number;
  binary: number;
}

/** Runs a query and returns its rows (the store's reader, so its counters see it). */
type Rows = <T>(query: string) => Promise<T[]>;

// Aggregates of no rows, and a variance of one, are nan or inf in ClickHouse: read as 0.
const finite = (expression: string) => `if(isFinite(${expression}), ${expression}, 0)`;

/**
 * An experiment's variants aggregated in ClickHouse (18.16 and later): quantileExact for the quantiles,
 * and each (request, metric)'s earliest feedback value, so a repeat never counts.
 */
export async function experimentStatsClickhouse(rows: Rows, query: ExperimentStatsQuery, rangeConditions: string[]): Promise<VariantStats[]> {
  const where = [`experiment_id = ${literal(query.experimentId)}`, `variant != ''`, ...rangeConditions].join(' AND ');
  const served = `status != 'refused'`;
  const variants = await rows<VariantRow>(`
    SELECT variant, count() AS requests, countIf(status = 'error') AS errors,
      countIf(${served}) AS latency_count, ${finite(`avgIf(latency_ms, ${served})`)} AS latency_mean, ${finite(`varSampIf(latency_ms, ${served})`)} AS latency_var,
      quantileExactIf(0.5)(latency_ms, ${served}) AS latency_p50, quantileExactIf(0.95)(latency_ms, ${served}) AS latency_p95,
      countIf(ttft_ms > 0) AS ttft_count, quantileExactIf(0.5)(ttft_ms, ttft_ms > 0) AS ttft_p50,
      sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens,
      sum(cost_micros) AS cost_total, ${finite('avg(cost_micros)')} AS cost_mean, ${finite('varSamp(cost_micros)')} AS cost_var, min(currency) AS currency
    FROM usage_events WHERE ${where} GROUP BY variant ORDER BY variant`);
  const feedback = await rows<FeedbackRow>(`
    SELECT variant, metric, count() AS count, avg(value) AS mean, ${finite('varSamp(value)')} AS variance, min(value IN (0, 1)) AS binary
    FROM (SELECT DISTINCT variant, tenant_id, request_id FROM usage_events WHERE ${where})
    ALL INNER JOIN (
      SELECT tenant_id, request_id, metric, argMin(value, toUInt64(toUnixTimestamp(ts)) * 1000 + ts_ms) AS value
      FROM usage_feedback
      WHERE (tenant_id, request_id) IN (SELECT tenant_id, request_id FROM usage_events WHERE ${where})
      GROUP BY tenant_id, request_id, metric
    ) USING (tenant_id, request_id)
    GROUP BY variant, metric ORDER BY variant, metric`);
  return variants.map((row) => ({
    variant: row.variant,
    requests: Number(row.requests),
    errors: Number(row.errors),
    latency: {
      count: Number(row.latency_count),
      mean: Number(row.latency_mean),
      variance: Number(row.latency_var),
      p50: Number(row.latency_count) > 0 ? Number(row.latency_p50) : null,
      p95: Number(row.latency_count) > 0 ? Number(row.latency_p95) : null,
    },
    ttftP50: Number(row.ttft_count) > 0 ? Number(row.ttft_p50) : null,
    promptTokens: Number(row.prompt_tokens),
    completionTokens: Number(row.completion_tokens),
    cost: { count: Number(row.requests), mean: Number(row.cost_mean), variance: Number(row.cost_var), totalMicros: Number(row.cost_total), currency: row.currency },
    feedback: feedback.filter((f) => f.variant === row.variant).map((f): MetricStats => ({ metric: f.metric, count: Number(f.count), mean: Number(f.mean), variance: Number(f.variance), binary: Number(f.binary) === 1 })),
  }));
}
