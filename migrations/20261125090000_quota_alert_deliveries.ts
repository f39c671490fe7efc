import { sql, type Kysely } from 'kysely';

// Quota alert webhooks: written before the first attempt and marked done once the platform takes one
// (or refuses it, or its attempts run out), so a delivery outlives a restart, a crash or an outage of
// the platform's endpoint, and an alert raised again is not delivered again. claimed_until lets one
// instance at a time attempt a row; a crashed instance's claim expires.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('quota_alert_delivery')
    .addColumn('event_id', 'text', (c) => c.primaryKey())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('claimed_until', 'timestamptz')
    .addColumn('last_error', 'text')
    .addColumn('done_at', 'timestamptz')
    .addColumn('outcome', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', now())`))
    .execute();
  await db.schema
    .createIndex('quota_alert_delivery_due_idx')
    .on('quota_alert_delivery')
    .column('next_attempt_at')
    .where(sql.ref('done_at'), 'is', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('quota_alert_delivery').execute();
}
