import { sql, type Kysely } from 'kysely';

// The billing names the platform's SQL was written against, as plain views over the real tables
// (SPEC.md, [billing]); the ClickHouse usage store has the same views (clickhouse/0005).
//   llm_requests       one row per request, from usage_event
//   tenant_daily_usage one row per tenant, day and currency, from the usage_daily rollup; cost in the
//                      currency's units (numeric, from integer micro-units)

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE VIEW llm_requests AS
    SELECT event_id AS id, request_id, tenant_id, user_id, api_key_id, requested_model AS model, served_model, provider,
      kind AS request_type, prompt_tokens, completion_tokens, total_tokens, latency_ms, status = 'ok' AS success, status,
      error_code, (cost_micros::numeric / 1000000)::numeric(24, 6) AS cost, currency, ts AS created_at
    FROM usage_event
  `.execute(db);
  await sql`
    CREATE VIEW tenant_daily_usage AS
    SELECT tenant_id, day AS date, currency, sum(requests)::bigint AS requests, sum(prompt_tokens)::bigint AS prompt_tokens,
      sum(completion_tokens)::bigint AS completion_tokens, sum(total_tokens)::bigint AS total_tokens,
      (sum(cost_micros) / 1000000)::numeric(24, 6) AS cost
    FROM usage_daily
    GROUP BY tenant_id, day, currency
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP VIEW tenant_daily_usage`.execute(db);
  await sql`DROP VIEW llm_requests`.execute(db);
}
