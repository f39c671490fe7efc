import { sql, type Kysely } from 'kysely';

// Usage reports show cached and reasoning tokens, so the daily rollup sums them too. Days rolled up
// before this migration take their sums from the events still kept.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE usage_daily ADD COLUMN cached_tokens bigint NOT NULL DEFAULT 0`.execute(db);
  await sql`ALTER TABLE usage_daily ADD COLUMN reasoning_tokens bigint NOT NULL DEFAULT 0`.execute(db);
  await sql`
    UPDATE usage_daily AS d SET cached_tokens = e.cached, reasoning_tokens = e.reasoning
    FROM (
      SELECT tenant_id, (ts AT TIME ZONE 'UTC')::date AS day, requested_model AS model, coalesce(provider, '') AS provider,
        coalesce(api_key_id, '') AS api_key_id, coalesce(user_id, '') AS user_id, status, currency,
        sum(cached_tokens) AS cached, sum(reasoning_tokens) AS reasoning
      FROM usage_event
      GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
      HAVING sum(cached_tokens) > 0 OR sum(reasoning_tokens) > 0
    ) AS e
    WHERE d.tenant_id = e.tenant_id AND d.day = e.day AND d.model = e.model AND d.provider = e.provider
      AND d.api_key_id = e.api_key_id AND d.user_id = e.user_id AND d.status = e.status AND d.currency = e.currency
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE usage_daily DROP COLUMN reasoning_tokens`.execute(db);
  await sql`ALTER TABLE usage_daily DROP COLUMN cached_tokens`.execute(db);
}
