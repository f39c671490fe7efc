import type { BillingPeriod } from '../../shared/billing-period.ts';

export type QuotaState = 'OK' | 'WARNING' | 'EXCEEDED';

/** A tenant's monthly token quota as Tenant.quota, quotaUpdated and GET /v1/usage show it. */
export interface QuotaView {
  tenantId: string;
  planId: string;
  period: BillingPeriod;
  /** Tokens the plan includes this period (0: unlimited). */
  limit: number;
  used: number;
  remaining: number;
  /** Tokens beyond the limit (billed as overage on a soft quota). */
  overage: number;
  state: QuotaState;
  /** True: requests are refused once the limit is used; false: they are billed as overage. */
  hardQuota: boolean;
  requests: number;
  requestLimit: number | null;
  /** Requests left this period under `requestLimit` (null: no monthly request limit). */
  requestsRemaining: number | null;
  /** The alert threshold (percent) this view announces, when it comes from one. */
  threshold: number | null;
}

export const WARNING_PERCENT = 80;

export function quotaView(input: {
  tenantId: string;
  planId: string;
  period: BillingPeriod;
  limit: number;
  hardQuota: boolean;
  used: number;
  requests: number;
  requestLimit: number | null;
  threshold?: number | null;
}): QuotaView {
  const { limit, used } = input;
  const state: QuotaState = limit <= 0 ? 'OK' : used >= limit ? 'EXCEEDED' : used * 100 >= WARNING_PERCENT * limit ? 'WARNING' : 'OK';
  const requestsExhausted = input.requestLimit !== null && input.requests >= input.requestLimit;
  return {
    tenantId: input.tenantId,
    planId: input.planId,
    period: input.period,
    limit,
    used,
    remaining: limit > 0 ? Math.max(0, limit - used) : 0,
    overage: limit > 0 ? Math.max(0, used - limit) : 0,
    state: requestsExhausted ? 'EXCEEDED' : state,
    hardQuota: input.hardQuota,
    requests: input.requests,
    requestLimit: input.requestLimit,
    requestsRemaining: input.requestLimit === null ? null : Math.max(0, input.requestLimit - input.requests),
    threshold: input.threshold ?? null,
  };
}

/** The JSON a view travels as between instances. */
export function quotaViewToJson(view: QuotaView): string {
  return JSON.stringify({ ...view, period: { ...view.period, start: view.period.start.getTime(), end: view.period.end.getTime() } });
}

export function quotaViewFromJson(text: string): QuotaView {
  const parsed = JSON.parse(text) as Omit<QuotaView, 'period'> & { period: Omit<BillingPeriod, 'start' | 'end'> & { start: number; end: number } };
  return { ...parsed, period: { ...parsed.period, start: new Date(parsed.period.start), end: new Date(parsed.period.end) } };
}
