import { sql, type Kysely } from 'kysely';

// A model's price as versions in time, set by the platform over the API: each in force from
// effective_from until the next. Before a model's first version (and for models without any), the
// price in the YAML config applies. Requests are priced when served, so an edit never reprices them.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('model_price')
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('effective_from', 'timestamptz', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('input_per_million', 'numeric(14, 6)', (c) => c.notNull())
    .addColumn('output_per_million', 'numeric(14, 6)', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', now())`))
    .addPrimaryKeyConstraint('model_price_pk', ['model', 'effective_from'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('model_price').execute();
}
