import type { BillingPeriod } from '../../shared/billing-period.ts';

/** A budget with what was spent against it this period; on an alert, the threshold reached. */
export interface BudgetView {
  tenantId: string;
  /** null: the tenant's budget, over all its keys. */
  apiKeyId: string | null;
  period: BillingPeriod;
  currency: string;
  limitMicros: number;
  spentMicros: number;
  alertThresholds: number[];
  hardStop: boolean;
  threshold: number | null;
}

export function budgetViewToJson(view: BudgetView): string {
  return JSON.stringify({ ...view, period: { ...view.period, start: view.period.start.toISOString(), end: view.period.end.toISOString() } });
}

export function budgetViewFromJson(json: string): BudgetView {
  const raw = JSON.parse(json) as BudgetView & { period: { start: string; end: string } };
  return { ...raw, period: { ...raw.period, start: new Date(raw.period.start), end: new Date(raw.period.end) } };
}
