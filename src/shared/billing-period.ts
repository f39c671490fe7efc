import { badInput } from './errors.ts';

/** A calendar month in UTC, half-open [start, end): the period quotas and invoices count over. */
export interface BillingPeriod {
  /** YYYYMM, as counters are keyed. */
  id: string;
  /** YYYY-MM, as people and the API write it. */
  month: string;
  start: Date;
  end: Date;
}

function periodFor(year: number, monthIndex: number): BillingPeriod {
  const start = new Date(Date.UTC(year, monthIndex, 1));
  const end = new Date(Date.UTC(year, monthIndex + 1, 1));
  const month = `${start.getUTCFullYear()}-${String(start.getUTCMonth() + 1).padStart(2, '0')}`;
  return { id: month.replace('-', ''), month, start, end };
}

let current: BillingPeriod | undefined;

/** The period holding `at` (epoch ms); the last one computed is reused while it holds (the hot path asks every request). */
export function billingPeriodAt(at: number): BillingPeriod {
  if (current && at >= current.start.getTime() && at < current.end.getTime()) return current;
  const date = new Date(at);
  current = periodFor(date.getUTCFullYear(), date.getUTCMonth());
  return current;
}

/** "2026-11" -> that month's period; BAD_USER_INPUT for anything else. */
export function parseBillingMonth(month: string): BillingPeriod {
  const match = /^(\d{4})-(\d{2})$/.exec(month);
  const monthIndex = match ? Number(match[2]) - 1 : -1;
  if (!match || monthIndex < 0 || monthIndex > 11) throw badInput(`month must be YYYY-MM, e.g. 2026-11, got "${month}"`, { field: 'month' });
  return periodFor(Number(match[1]), monthIndex);
}

/** Days in the period, for per-day proration. */
export function daysIn(period: BillingPeriod): number {
  return Math.round((period.end.getTime() - period.start.getTime()) / 86_400_000);
}
