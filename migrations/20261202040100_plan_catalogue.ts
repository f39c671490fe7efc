import { sql, type Kysely } from 'kysely';

// Plans as data: the platform creates, edits and retires plans.
// - A null monthly_tokens, requests_per_minute or tokens_per_minute is no cap ("unlimited").
// - retired_at: a retired plan is not offered to new tenants, and keeps the tenants it has.
// - plan_price: a plan's price is a history of versions, each in force from effective_from until the
//   next one, so an edit never reprices what was served before it takes effect. The plan's own price
//   columns move there as each plan's first version (in force since always).
// - overage_tiers: [{ upToTokens, perMillion }], graduated over the tokens beyond the included ones;
//   upToTokens is the tier's upper bound in those tokens, null in the last (open) tier.
// - The seeds' free tier: 100 requests an hour and 3,000 a month, where the platform has not set them.

const SINCE_ALWAYS = new Date(0);

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('plan').addColumn('retired_at', 'timestamptz').execute();
  for (const column of ['monthly_tokens', 'requests_per_minute', 'tokens_per_minute']) {
    await db.schema.alterTable('plan').alterColumn(column, (c) => c.dropNotNull()).execute();
  }
  await db
    .updateTable('plan')
    .set({ requests_per_hour: 100, requests_per_month: 3_000 })
    .where('id', '=', 'free')
    .where('requests_per_hour', 'is', null)
    .where('requests_per_month', 'is', null)
    .execute();

  await db.schema
    .createTable('plan_price')
    .addColumn('plan_id', 'text', (c) => c.notNull().references('plan.id').onDelete('cascade'))
    .addColumn('effective_from', 'timestamptz', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('monthly_price', 'numeric(14, 2)', (c) => c.notNull())
    .addColumn('overage_tiers', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', now())`))
    .addPrimaryKeyConstraint('plan_price_pk', ['plan_id', 'effective_from'])
    .execute();
  await sql`
    INSERT INTO plan_price (plan_id, effective_from, currency, monthly_price, overage_tiers)
    SELECT id, ${SINCE_ALWAYS}, currency, monthly_price,
      jsonb_build_array(jsonb_build_object('upToTokens', NULL, 'perMillion',
        CASE WHEN scale(trim_scale(overage_per_million)) <= 2 THEN overage_per_million::numeric(14, 2)::text ELSE trim_scale(overage_per_million)::text END))
    FROM plan
  `.execute(db);
  for (const column of ['currency', 'monthly_price', 'overage_per_million']) {
    await db.schema.alterTable('plan').dropColumn(column).execute();
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('plan').addColumn('currency', 'text', (c) => c.notNull().defaultTo('GBP')).execute();
  await db.schema.alterTable('plan').addColumn('monthly_price', 'numeric(14, 2)', (c) => c.notNull().defaultTo('0')).execute();
  await db.schema.alterTable('plan').addColumn('overage_per_million', 'numeric(14, 6)', (c) => c.notNull().defaultTo('0')).execute();
  await sql`
    UPDATE plan SET currency = p.currency, monthly_price = p.monthly_price, overage_per_million = (p.overage_tiers -> 0 ->> 'perMillion')::numeric
    FROM (SELECT DISTINCT ON (plan_id) * FROM plan_price ORDER BY plan_id, effective_from DESC) p
    WHERE p.plan_id = plan.id
  `.execute(db);
  await db.schema.dropTable('plan_price').execute();
  for (const column of ['monthly_tokens', 'requests_per_minute', 'tokens_per_minute']) {
    await db.updateTable('plan').set({ [column]: 2_000_000_000 }).where(column, 'is', null).execute();
    await db.schema.alterTable('plan').alterColumn(column, (c) => c.setNotNull()).execute();
  }
  await db.schema.alterTable('plan').dropColumn('retired_at').execute();
}
