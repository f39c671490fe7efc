import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

export interface PlanTable {
  id: string;
  name: string;
  /** Tokens included each month; null: unlimited. bigint column, parsed to a number at the driver. */
  monthly_tokens: number | null;
  /** null: no cap. */
  requests_per_minute: number | null;
  tokens_per_minute: number | null;
  requests_per_hour: number | null;
  requests_per_month: number | null;
  /** Requests of one tenant in flight at once; null: no cap. */
  concurrent_requests: number | null;
  hard_quota: boolean;
  /** Set when the plan stopped being offered; its tenants keep it until they move. */
  retired_at: Date | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/** One tier of the overage price: tokens beyond the included ones up to upToTokens (null: the rest). */
export interface PriceTier {
  upToTokens: number | null;
  /** Decimal string per million tokens. */
  perMillion: string;
}

/** A version of a plan's price, in force from effective_from until the next version's. */
export interface PlanPriceTable {
  plan_id: string;
  effective_from: Date;
  currency: string;
  /** Decimal string, e.g. "39.00": money is never a float. */
  monthly_price: string;
  /** JSON text on the way in. */
  overage_tiers: ColumnType<PriceTier[], string, string>;
  created_at: Generated<Date>;
}

export type PlanRow = Selectable<PlanTable>;
export type NewPlan = Insertable<PlanTable>;
export type PlanUpdate = Updateable<PlanTable>;
export type PlanPriceRow = Selectable<PlanPriceTable>;
export type NewPlanPrice = Insertable<PlanPriceTable>;
