import type { Generated, Insertable, Selectable } from 'kysely';

/** A monthly money budget of a tenant (api_key_id '') or of one of its API keys. */
export interface BudgetTable {
  tenant_id: string;
  api_key_id: string;
  /** Decimal string in `currency`, e.g. "250.00". */
  monthly_limit: string;
  currency: string;
  /** Percentages of the limit at which an alert is sent, ascending. */
  alert_thresholds: number[];
  /** True: requests are refused (402 budget_exceeded) once the limit is spent. */
  hard_stop: boolean;
  updated_at: Generated<Date>;
}

export type BudgetRow = Selectable<BudgetTable>;
export type NewBudget = Insertable<BudgetTable>;
