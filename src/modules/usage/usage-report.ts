import {
  ALL_TENANTS,
  timeGroupings,
  type CostAmount,
  type DateRange,
  type ReportQuery,
  type UsageBucket,
  type UsageGroupBy,
  type UsageReport,
  type UsageTotals,
} from './usage-store.ts';

// What both stores hand back from their one report statement, and how it becomes reports: the
// assembly (zero-filled time buckets, ordering, currencies) is shared so the stores cannot disagree.

export interface ReportRow {
  tenantId: string;
  /** null for the tenant's totals row; else the bucket: epoch milliseconds for time groupings, '' for "none". */
  bucket: string | null;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  errors: number;
  refused: number;
  cancelled: number;
  cacheHits: number;
  estimated: number;
  costs: CostAmount[];
  latencySum: number;
  latencyCount: number;
  p50: number | null;
  p95: number | null;
}

export function zeroTotals(): UsageTotals {
  return {
    requests: 0,
    promptTokens: 0,
    completionTokens: 0,
    totalTokens: 0,
    cachedTokens: 0,
    reasoningTokens: 0,
    errors: 0,
    refused: 0,
    cancelled: 0,
    cacheHits: 0,
    estimated: 0,
    costs: [],
    latency: null,
  };
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Start of the UTC hour, day or month holding `date`. */
export function truncate(date: Date, unit: 'hour' | 'day' | 'month'): Date {
  const t = date.getTime();
  if (unit === 'hour') return new Date(Math.floor(t / HOUR_MS) * HOUR_MS);
  if (unit === 'day') return new Date(Math.floor(t / DAY_MS) * DAY_MS);
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1));
}

export function nextBucket(start: Date, unit: 'hour' | 'day' | 'month'): Date {
  if (unit === 'hour') return new Date(start.getTime() + HOUR_MS);
  if (unit === 'day') return new Date(start.getTime() + DAY_MS);
  return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
}

export function isAligned(range: DateRange, unit: 'hour' | 'day'): boolean {
  return truncate(range.from, unit).getTime() === range.from.getTime() && truncate(range.to, unit).getTime() === range.to.getTime();
}

export function isTimeGrouping(groupBy: UsageGroupBy | null): groupBy is 'hour' | 'day' | 'month' {
  return groupBy !== null && timeGroupings.includes(groupBy);
}

/** How many buckets a time grouping yields over a range (0 for other groupings). */
export function countTimeBuckets(range: DateRange, groupBy: UsageGroupBy | null): number {
  if (!isTimeGrouping(groupBy)) return 0;
  if (groupBy === 'month') {
    const from = truncate(range.from, 'month');
    const last = new Date(range.to.getTime() - 1);
    return (last.getUTCFullYear() - from.getUTCFullYear()) * 12 + last.getUTCMonth() - from.getUTCMonth() + 1;
  }
  const unit = groupBy === 'hour' ? HOUR_MS : DAY_MS;
  return Math.ceil((range.to.getTime() - truncate(range.from, groupBy).getTime()) / unit);
}

function totalsOf(row: ReportRow, latency: boolean): UsageTotals {
  return {
    requests: row.requests,
    promptTokens: row.promptTokens,
    completionTokens: row.completionTokens,
    totalTokens: row.totalTokens,
    cachedTokens: row.cachedTokens,
    reasoningTokens: row.reasoningTokens,
    errors: row.errors,
    refused: row.refused,
    cancelled: row.cancelled,
    cacheHits: row.cacheHits,
    estimated: row.estimated,
    costs: [...row.costs].sort((a, b) => a.currency.localeCompare(b.currency)),
    latency:
      latency && row.latencyCount > 0
        ? { avgMs: row.latencySum / row.latencyCount, p50Ms: row.p50 ?? 0, p95Ms: row.p95 ?? 0 }
        : null,
  };
}

/** One report per requested tenant (zero when it has no events), time buckets filled with zeros. */
export function assembleReports(query: ReportQuery, rows: readonly ReportRow[]): Map<string, UsageReport> {
  const byTenant = new Map<string, { totals: ReportRow | undefined; buckets: Map<string, ReportRow> }>();
  const keys = query.tenantIds ?? [ALL_TENANTS];
  for (const tenantId of keys) byTenant.set(tenantId, { totals: undefined, buckets: new Map() });
  for (const row of rows) {
    const entry = byTenant.get(query.tenantIds ? row.tenantId : ALL_TENANTS);
    if (!entry) continue;
    if (row.bucket === null) entry.totals = row;
    else entry.buckets.set(row.bucket, row);
  }
  const reports = new Map<string, UsageReport>();
  for (const [tenantId, entry] of byTenant) {
    const totals = entry.totals ? totalsOf(entry.totals, query.latency) : zeroTotals();
    reports.set(tenantId, { totals, buckets: buildBuckets(query, entry.buckets) });
  }
  return reports;
}

function buildBuckets(query: ReportQuery, rows: Map<string, ReportRow>): UsageBucket[] {
  const { groupBy, range } = query;
  if (groupBy === null) return [];
  if (isTimeGrouping(groupBy)) {
    const buckets: UsageBucket[] = [];
    for (let start = truncate(range.from, groupBy); start < range.to; start = nextBucket(start, groupBy)) {
      const row = rows.get(String(start.getTime()));
      buckets.push({
        key: start.toISOString(),
        start,
        end: nextBucket(start, groupBy),
        totals: row ? totalsOf(row, query.latency) : zeroTotals(),
      });
    }
    return buckets;
  }
  return [...rows.values()]
    .map((row) => ({ key: row.bucket === '' ? null : row.bucket, start: null, end: null, totals: totalsOf(row, query.latency) }))
    .sort((a, b) => b.totals.totalTokens - a.totals.totalTokens || b.totals.requests - a.totals.requests || (a.key ?? '').localeCompare(b.key ?? ''));
}

/** Sums [currency, micros] pairs that came back as text or numbers. */
export function parseCosts(pairs: ReadonlyArray<readonly [string, string | number]>): CostAmount[] {
  const sums = new Map<string, number>();
  for (const [currency, micros] of pairs) sums.set(currency, (sums.get(currency) ?? 0) + Number(micros));
  return [...sums].map(([currency, micros]) => ({ currency, micros }));
}

/** A decimal string from integer millionths, exact: 1234567 -> "1.234567". */
export function formatMicros(micros: number): string {
  const sign = micros < 0 ? '-' : '';
  const digits = String(Math.abs(Math.trunc(micros))).padStart(7, '0');
  return `${sign}${digits.slice(0, -6)}.${digits.slice(-6)}`;
}
