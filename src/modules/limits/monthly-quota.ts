import type { BillingPeriod } from '../../shared/billing-period.ts';
import type { QuotaSpec, QuotaUse } from './limiter-store.ts';
import type { EffectiveLimits } from './limits-directory.ts';

/**
 * What the gate needs of the monthly quota, which the quota module provides: limits owns this port so
 * it depends on nothing of quota's, while quota builds on limits' store and directory.
 */
export interface MonthlyQuota {
  currentPeriod(): BillingPeriod;
  /** The quota an admission is checked against in `period`. */
  spec(limits: EffectiveLimits, period: BillingPeriod): QuotaSpec;
  /** Seeds the period's counter from the usage store when the limiter store has none yet. */
  seed(tenantId: string, spec: QuotaSpec, period: BillingPeriod): Promise<void>;
  /** A settlement crossed these alert thresholds. */
  alert(limits: EffectiveLimits, period: BillingPeriod, use: QuotaUse, crossed: readonly number[]): void;
}
