import { sql, type Kysely } from 'kysely';

// Named prompt templates, defined by the platform (tenant_id null) or a tenant's admin. Rows are never
// edited: saving a template adds its next version, so usage tagged with a version keeps its meaning.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('prompt_template')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.references('tenant.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('system_message', 'text')
    .addColumn('user_message', 'text', (c) => c.notNull())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('parameters', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', now())`))
    .execute();
  // One version number per owner and name; '' stands for the platform.
  await sql`CREATE UNIQUE INDEX prompt_template_version_idx ON prompt_template (coalesce(tenant_id, ''), name, version)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('prompt_template').execute();
}
