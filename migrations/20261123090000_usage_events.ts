import { sql, type Kysely } from 'kysely';

// Usage in the SQL database (the embedded default and deployments without ClickHouse).
// usage_event is range-partitioned by month on ts; partitions are created on demand by the store and
// dropped whole for retention. A unique key on a partitioned table must include the partition key, so
// the key is (event_id, ts): a resent event carries the same ts, so ON CONFLICT still catches it.
// usage_daily is the rollup the store maintains in the same transaction as each batch of events.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE usage_event (
      event_id text COLLATE "C" NOT NULL,
      request_id text NOT NULL,
      ts timestamptz NOT NULL,
      tenant_id text NOT NULL,
      user_id text,
      api_key_id text,
      requested_model text NOT NULL,
      served_model text,
      provider text,
      deployment text,
      kind text NOT NULL,
      prompt_tokens integer NOT NULL,
      completion_tokens integer NOT NULL,
      total_tokens integer NOT NULL,
      tokens_estimated boolean NOT NULL,
      ttft_ms integer,
      latency_ms integer NOT NULL,
      status text NOT NULL,
      error_code text,
      cache_hit boolean NOT NULL,
      cost_micros bigint NOT NULL,
      currency text NOT NULL,
      node text NOT NULL,
      PRIMARY KEY (event_id, ts)
    ) PARTITION BY RANGE (ts)
  `.execute(db);
  await sql`CREATE INDEX usage_event_tenant_ts_idx ON usage_event (tenant_id, ts, event_id)`.execute(db);

  // Dimensions are '' rather than NULL so they can be part of the primary key.
  await sql`
    CREATE TABLE usage_daily (
      tenant_id text NOT NULL,
      day date NOT NULL,
      model text NOT NULL,
      provider text NOT NULL,
      api_key_id text NOT NULL,
      user_id text NOT NULL,
      status text NOT NULL,
      currency text NOT NULL,
      requests bigint NOT NULL,
      prompt_tokens bigint NOT NULL,
      completion_tokens bigint NOT NULL,
      total_tokens bigint NOT NULL,
      cache_hits bigint NOT NULL,
      estimated bigint NOT NULL,
      cost_micros bigint NOT NULL,
      latency_ms_sum bigint NOT NULL,
      PRIMARY KEY (tenant_id, day, model, provider, api_key_id, user_id, status, currency)
    )
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE usage_daily`.execute(db);
  await sql`DROP TABLE usage_event`.execute(db);
}
