import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../database.ts';
import type { ModelPriceRow, NewModelPrice } from './model-price.table.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** Every version, per model oldest first. */
export function listModelPrices(db: Db): Promise<ModelPriceRow[]> {
  return db.selectFrom('model_price').selectAll().orderBy('model').orderBy('effective_from').execute();
}

/** A new version; one scheduled for the same instant is replaced (it has not taken effect yet). */
export function upsertModelPrice(db: Db, version: NewModelPrice): Promise<ModelPriceRow> {
  return db
    .insertInto('model_price')
    .values(version)
    .onConflict((c) =>
      c.columns(['model', 'effective_from']).doUpdateSet((eb) => ({
        currency: eb.ref('excluded.currency'),
        input_per_million: eb.ref('excluded.input_per_million'),
        output_per_million: eb.ref('excluded.output_per_million'),
        created_at: eb.ref('excluded.created_at'),
      })),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}
