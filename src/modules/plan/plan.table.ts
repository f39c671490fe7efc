import type { Generated, Selectable, Updateable } from 'kysely';

export interface PlanTable {
  id: string;
  name: string;
  currency: string;
  /** Decimal string, e.g. "39.00": money is never a float. */
  monthly_price: string;
  /** bigint column; parsed to a number at the driver (token counts stay far below 2^53). */
  monthly_tokens: number;
  requests_per_minute: number;
  tokens_per_minute: number;
  requests_per_hour: number | null;
  requests_per_month: number | null;
  /** Requests of one tenant in flight at once; null: no cap. */
  concurrent_requests: number | null;
  hard_quota: boolean;
  overage_per_million: string;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type PlanRow = Selectable<PlanTable>;
export type PlanUpdate = Updateable<PlanTable>;
