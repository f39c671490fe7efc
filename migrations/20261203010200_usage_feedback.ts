import { sql, type Kysely } from 'kysely';

// Feedback on requests (a number, or 1/0 for a boolean), one value per request and metric: the first
// recorded stays, a repeat changes nothing. Kept beside usage_event, which it joins on request_id.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE usage_feedback (
      tenant_id text NOT NULL,
      request_id text NOT NULL,
      metric text NOT NULL,
      value double precision NOT NULL,
      ts timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (tenant_id, request_id, metric)
    )
  `.execute(db);
  // Feedback names a request by id: finding the tenant's request must not scan its events.
  await sql`CREATE INDEX usage_event_tenant_request_idx ON usage_event (tenant_id, request_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX usage_event_tenant_request_idx`.execute(db);
  await sql`DROP TABLE usage_feedback`.execute(db);
}
