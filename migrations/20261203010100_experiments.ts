import { sql, type Kysely } from 'kysely';

// A/B experiments on a requested model name, for one tenant or (tenant_id null) platform-wide.
// At most one experiment not yet stopped per name and scope: the one requests are split by.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE experiment (
      id text PRIMARY KEY,
      tenant_id text REFERENCES tenant (id) ON DELETE CASCADE,
      model text NOT NULL,
      variants jsonb NOT NULL,
      stickiness text NOT NULL CHECK (stickiness IN ('USER', 'REQUEST')),
      status text NOT NULL CHECK (status IN ('RUNNING', 'PAUSED', 'STOPPED')),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )
  `.execute(db);
  await sql`CREATE UNIQUE INDEX experiment_active_idx ON experiment (coalesce(tenant_id, ''), model) WHERE status <> 'STOPPED'`.execute(db);
  await sql`CREATE INDEX experiment_tenant_idx ON experiment (tenant_id, created_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE experiment`.execute(db);
}
