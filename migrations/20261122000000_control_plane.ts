import { sql, type Kysely } from 'kysely';

// Control plane: plans, tenants, API keys, provider credentials, inference configs, audit log.
// Written against Kysely<any> on purpose: a migration must not change when the app's types do.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('plan')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('monthly_price', 'numeric(14, 2)', (c) => c.notNull())
    .addColumn('monthly_tokens', 'bigint', (c) => c.notNull())
    .addColumn('requests_per_minute', 'integer', (c) => c.notNull())
    .addColumn('tokens_per_minute', 'integer', (c) => c.notNull())
    .addColumn('requests_per_hour', 'integer')
    .addColumn('requests_per_month', 'integer')
    .addColumn('hard_quota', 'boolean', (c) => c.notNull())
    .addColumn('overage_per_million', 'numeric(14, 6)', (c) => c.notNull().defaultTo('0'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', now())`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', now())`))
    .execute();

  await db
    .insertInto('plan')
    .values([
      plan('free', 'Free', '0.00', 100_000, 10, 10_000, true, '0'),
      plan('starter', 'Starter', '39.00', 5_000_000, 60, 100_000, false, '8.00'),
      plan('pro', 'Pro', '149.00', 25_000_000, 120, 200_000, false, '6.00'),
      plan('enterprise', 'Enterprise', '499.00', 100_000_000, 300, 1_000_000, false, '5.00'),
    ])
    .execute();

  await db.schema
    .createTable('tenant')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('plan_id', 'text', (c) => c.notNull().references('plan.id'))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', now())`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', now())`))
    .execute();
  await db.schema.createIndex('tenant_created_at_idx').on('tenant').columns(['created_at', 'id']).execute();

  await db.schema
    .createTable('api_key')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenant.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('previous_secret_hash', 'text')
    .addColumn('previous_valid_until', 'timestamptz')
    .addColumn('scopes', sql`text[]`, (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', now())`))
    .execute();
  await db.schema.createIndex('api_key_tenant_idx').on('api_key').columns(['tenant_id', 'created_at', 'id']).execute();

  await db.schema
    .createTable('provider_credential')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenant.id').onDelete('cascade'))
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('ciphertext', 'text', (c) => c.notNull())
    .addColumn('last4', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', now())`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', now())`))
    .addPrimaryKeyConstraint('provider_credential_pk', ['tenant_id', 'provider'])
    .execute();

  await db.schema
    .createTable('inference_config')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenant.id').onDelete('cascade'))
    .addColumn('preferred_provider', 'text')
    .addColumn('auto_failover', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('model_overrides', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('allowed_models', sql`text[]`)
    .addColumn('cache_enabled', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', now())`))
    .execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text')
    .addColumn('actor_type', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target', 'text')
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('request_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', now())`))
    .execute();
  await db.schema.createIndex('audit_log_tenant_idx').on('audit_log').columns(['tenant_id', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['audit_log', 'inference_config', 'provider_credential', 'api_key', 'tenant', 'plan']) {
    await db.schema.dropTable(table).execute();
  }
}

function plan(
  id: string,
  name: string,
  monthlyPrice: string,
  monthlyTokens: number,
  requestsPerMinute: number,
  tokensPerMinute: number,
  hardQuota: boolean,
  overagePerMillion: string,
) {
  return {
    id,
    name,
    currency: 'GBP',
    monthly_price: monthlyPrice,
    monthly_tokens: monthlyTokens,
    requests_per_minute: requestsPerMinute,
    tokens_per_minute: tokensPerMinute,
    hard_quota: hardQuota,
    overage_per_million: overagePerMillion,
  };
}
