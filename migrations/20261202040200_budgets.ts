import { sql, type Kysely } from 'kysely';

// Money budgets: a monthly limit on what a tenant (api_key_id '') or one of its API keys spends, in the
// currency of the tenant's plan when set; alerts at percentages of it, and optionally a hard stop.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('budget')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenant.id').onDelete('cascade'))
    .addColumn('api_key_id', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('monthly_limit', 'numeric(14, 2)', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('alert_thresholds', sql`integer[]`, (c) => c.notNull())
    .addColumn('hard_stop', 'boolean', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', now())`))
    .addPrimaryKeyConstraint('budget_pk', ['tenant_id', 'api_key_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('budget').execute();
}
