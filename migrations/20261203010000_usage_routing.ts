import { sql, type Kysely } from 'kysely';

// Each usage event says how its model was chosen: the route and rule (when the requested name is a
// route) and the experiment and variant (when it took part in one). Null: none.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE usage_event ADD COLUMN route text`.execute(db);
  await sql`ALTER TABLE usage_event ADD COLUMN route_rule text`.execute(db);
  await sql`ALTER TABLE usage_event ADD COLUMN experiment_id text`.execute(db);
  await sql`ALTER TABLE usage_event ADD COLUMN variant text`.execute(db);
  // An experiment's results read only its own events.
  await sql`CREATE INDEX usage_event_experiment_idx ON usage_event (experiment_id, ts) WHERE experiment_id IS NOT NULL`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX usage_event_experiment_idx`.execute(db);
  for (const column of ['variant', 'experiment_id', 'route_rule', 'route']) {
    await sql`ALTER TABLE usage_event DROP COLUMN ${sql.ref(column)}`.execute(db);
  }
}
