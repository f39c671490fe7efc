import type { Generated, Insertable, Selectable } from 'kysely';

/** A version of a model's price, in force from effective_from until the next version's. */
export interface ModelPriceTable {
  model: string;
  effective_from: Date;
  currency: string;
  /** Decimal strings per million tokens. */
  input_per_million: string;
  output_per_million: string;
  created_at: Generated<Date>;
}

export type ModelPriceRow = Selectable<ModelPriceTable>;
export type NewModelPrice = Insertable<ModelPriceTable>;
