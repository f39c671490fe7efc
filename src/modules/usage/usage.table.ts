import type { Selectable } from 'kysely';

/** usage_event in the SQL database: one row per request, partitioned by month on ts. */
export interface UsageEventTable {
  event_id: string;
  request_id: string;
  ts: Date;
  tenant_id: string;
  user_id: string | null;
  api_key_id: string | null;
  requested_model: string;
  served_model: string | null;
  provider: string | null;
  deployment: string | null;
  kind: string;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  tokens_estimated: boolean;
  cached_tokens: number;
  reasoning_tokens: number;
  ttft_ms: number | null;
  latency_ms: number;
  status: string;
  error_code: string | null;
  cache_hit: boolean;
  cost_micros: number;
  currency: string;
  node: string;
  route: string | null;
  route_rule: string | null;
  experiment_id: string | null;
  variant: string | null;
  template_name: string | null;
  template_version: number | null;
}

/** usage_daily: the rollup kept in the same transaction as each batch; '' stands for "none" in its key. */
export interface UsageDailyTable {
  tenant_id: string;
  day: Date;
  model: string;
  provider: string;
  api_key_id: string;
  user_id: string;
  status: string;
  currency: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  cache_hits: number;
  estimated: number;
  cost_micros: number;
  latency_ms_sum: number;
}

// A type alias, not an interface: Kysely's withTables() wants an indexable record.
export type UsageTables = {
  usage_event: UsageEventTable;
  usage_daily: UsageDailyTable;
};

export type UsageEventRow = Selectable<UsageEventTable>;
