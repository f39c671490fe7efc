import { sql, type Kysely } from 'kysely';

// Usage events a store refused (a value it cannot hold), set aside so every other event keeps flowing.
// The event is kept as escaped JSON text, which round-trips NUL bytes and lone surrogates; an operator
// lists and replays them with `tollgate usage dead-letters`.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('usage_dead_letter')
    .addColumn('event_id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('error', 'text', (c) => c.notNull())
    .addColumn('store', 'text', (c) => c.notNull())
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', now())`))
    .addColumn('last_failed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', now())`))
    .addColumn('replayed_at', 'timestamptz')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('usage_dead_letter').execute();
}
