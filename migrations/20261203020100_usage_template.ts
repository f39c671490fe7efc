import { sql, type Kysely } from 'kysely';

// The prompt template a request ran, and its version, on its usage event (null for other requests).

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE usage_event ADD COLUMN template_name text`.execute(db);
  await sql`ALTER TABLE usage_event ADD COLUMN template_version integer`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE usage_event DROP COLUMN template_version`.execute(db);
  await sql`ALTER TABLE usage_event DROP COLUMN template_name`.execute(db);
}
