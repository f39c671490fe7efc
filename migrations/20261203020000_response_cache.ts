import { type Kysely } from 'kysely';

// The response cache's persistent level: whole answers kept across restarts until they expire.
// The key already holds the tenant; tenant_id is kept beside it so a tenant's entries can be purged.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('response_cache')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('entry', 'jsonb', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('response_cache_expires_at_idx').on('response_cache').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('response_cache').execute();
}
