import { sql, type Kysely } from 'kysely';

// The upstream's token details on each usage event: prompt tokens served from its prompt cache and
// completion tokens spent on reasoning (0 when it reported none).

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE usage_event ADD COLUMN cached_tokens integer NOT NULL DEFAULT 0`.execute(db);
  await sql`ALTER TABLE usage_event ADD COLUMN reasoning_tokens integer NOT NULL DEFAULT 0`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE usage_event DROP COLUMN reasoning_tokens`.execute(db);
  await sql`ALTER TABLE usage_event DROP COLUMN cached_tokens`.execute(db);
}
