import { sql, type Kysely } from 'kysely';

// Rate limits: each plan's concurrent requests, and per-tenant / per-API-key overrides of a plan's
// requests per minute, tokens per minute and concurrency. A null column keeps the plan's value.
// api_key_id is '' for the tenant-wide row, so (tenant_id, api_key_id) can be the primary key.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('plan').addColumn('concurrent_requests', 'integer').execute();
  for (const [id, concurrent] of [
    ['free', 4],
    ['starter', 20],
    ['pro', 50],
    ['enterprise', 200],
  ] as const) {
    await db.updateTable('plan').set({ concurrent_requests: concurrent }).where('id', '=', id).execute();
  }
  await db.schema
    .createTable('limit_override')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenant.id').onDelete('cascade'))
    .addColumn('api_key_id', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('requests_per_minute', 'integer')
    .addColumn('tokens_per_minute', 'integer')
    .addColumn('concurrent_requests', 'integer')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', now())`))
    .addPrimaryKeyConstraint('limit_override_pk', ['tenant_id', 'api_key_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('limit_override').execute();
  await db.schema.alterTable('plan').dropColumn('concurrent_requests').execute();
}
