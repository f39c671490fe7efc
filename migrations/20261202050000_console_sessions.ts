import { sql, type Kysely } from 'kysely';

// Web console sessions. The browser holds only a short-lived signed token naming a row here; the row
// says who signed in and is checked on every use, so sign-out (revoked_at) ends it on every instance.
// The secret itself is never stored: an admin key or API key session keeps the digest the api_key
// table already holds, so the key's revocation, expiry or rotation ends the session too. A single
// sign-on session keeps the provider's refresh token, sealed, to extend itself.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('console_session')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text')
    .addColumn('user_id', 'text')
    .addColumn('role', 'text')
    .addColumn('api_key_id', 'text')
    .addColumn('secret_digest', 'text')
    .addColumn('sso_refresh_token', 'text')
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', now())`))
    .execute();
  await db.schema.createIndex('console_session_api_key_idx').on('console_session').column('api_key_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('console_session').execute();
}
