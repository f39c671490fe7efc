import { badInput, forbidden } from '../../shared/errors.ts';
import { requirePlatformAdmin, requireTenantRead } from '../identity/index.ts';
import type { Principal } from '../identity/index.ts';
import type { UsageEvent } from './usage-event.ts';
import { countTimeBuckets } from './usage-report.ts';
import type { UsageReportLoader } from './usage.loaders.ts';
import {
  type CacheSavings,
  ALL_TENANTS,
  type DateRange,
  type EventCursor,
  type TenantRankBy,
  type TenantUsage,
  type UsageFilter,
  type UsageGroupBy,
  type UsageReport,
  type UsageStore,
} from './usage-store.ts';

const MAX_TIME_BUCKETS = 10_000;
const MAX_PAGE = 100;
// DateTime in ClickHouse: seconds since 1970 in 32 unsigned bits.
const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(2106, 0, 1);

export interface ReportInput {
  range: DateRange;
  groupBy: UsageGroupBy | null;
  filter: UsageFilter;
  /** Whether latency quantiles are wanted (the GraphQL layer knows from the selection). */
  latency: boolean;
}

/**
 * Reading usage: a tenant's own principals (API keys need the usage:read scope) and the platform.
 * Another tenant's usage is NOT_FOUND, as any of its objects.
 */
export function requireUsageRead(principal: Principal, tenantId: string): void {
  requireTenantRead(principal, tenantId);
  if (principal.kind === 'api-key' && !principal.scopes.includes('usage:read') && !principal.scopes.includes('admin')) {
    throw forbidden('this API key lacks the "usage:read" scope');
  }
}

export function validateRange(range: DateRange, groupBy: UsageGroupBy | null = null): DateRange {
  const from = range.from.getTime();
  const to = range.to.getTime();
  if (!(from < to)) throw badInput('range.from must be before range.to (the range is half-open: [from, to))', { field: 'range' });
  if (from < EARLIEST || to > LATEST) throw badInput('range must lie between 1970-01-01 and 2106-01-01', { field: 'range' });
  if (countTimeBuckets(range, groupBy) > MAX_TIME_BUCKETS) {
    throw badInput(`range by ${groupBy} would give more than ${MAX_TIME_BUCKETS} buckets: narrow the range or group more coarsely`, { field: 'groupBy' });
  }
  return range;
}

/** Cursor of a usage event page: its time and id, opaque to callers. */
export function encodeEventCursor(event: Pick<UsageEvent, 'ts' | 'eventId'>): string {
  return Buffer.from(`${event.ts.getTime()}|${event.eventId}`).toString('base64url');
}

export function decodeEventCursor(cursor: string | null | undefined): EventCursor | null {
  if (!cursor) return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const bar = text.indexOf('|');
  const ms = Number(text.slice(0, bar));
  const eventId = text.slice(bar + 1);
  if (bar < 1 || !Number.isSafeInteger(ms) || eventId === '') throw badInput(`"${cursor}" is not a cursor from this list`, { field: 'after' });
  return { ts: new Date(ms), eventId };
}

export class UsageService {
  readonly #store: UsageStore;

  constructor(store: UsageStore) {
    this.#store = store;
  }

  /** A tenant's report; the loader batches it with the other tenants the same operation asks about. */
  async report(principal: Principal, tenantId: string, input: ReportInput, loader: UsageReportLoader): Promise<UsageReport> {
    requireUsageRead(principal, tenantId);
    validateRange(input.range, input.groupBy);
    return loader.load({ tenantId, query: { range: input.range, groupBy: input.groupBy, filter: input.filter, latency: input.latency } });
  }

  /** Every tenant together (platform admin only). */
  async platformReport(principal: Principal, input: ReportInput): Promise<UsageReport> {
    requirePlatformAdmin(principal);
    validateRange(input.range, input.groupBy);
    const reports = await this.#store.report({ tenantIds: null, ...input });
    return reports.get(ALL_TENANTS) as UsageReport;
  }

  /** One page of a tenant's events, newest first; asks for one more than `limit` to tell if more follow. */
  async events(
    principal: Principal,
    tenantId: string,
    input: { range: DateRange | null; filter: UsageFilter; first: number; after: string | null },
  ): Promise<{ events: UsageEvent[]; hasNextPage: boolean }> {
    requireUsageRead(principal, tenantId);
    if (input.range) validateRange(input.range);
    const limit = Math.min(Math.max(input.first, 1), MAX_PAGE);
    const rows = await this.#store.events({ tenantId, range: input.range, filter: input.filter, limit: limit + 1, after: decodeEventCursor(input.after) });
    return { events: rows.slice(0, limit), hasNextPage: rows.length > limit };
  }

  /** The top tenants of a range by tokens, requests or cost in one currency (platform admin only). */
  async topTenants(principal: Principal, input: { range: DateRange; by: TenantRankBy; currency: string; first: number }): Promise<TenantUsage[]> {
    requirePlatformAdmin(principal);
    validateRange(input.range);
    if (!/^[A-Z]{3}$/.test(input.currency)) throw badInput('currency must be an ISO 4217 code such as USD', { field: 'currency' });
    return this.#store.topTenants({ range: input.range, by: input.by, currency: input.currency, limit: Math.min(Math.max(input.first, 1), MAX_PAGE) });
  }

  /** What the response cache spared the upstream for a tenant, or for every tenant (tenantId null: platform admin only). */
  async cacheSavings(principal: Principal, tenantId: string | null, input: { range: DateRange; filter: UsageFilter }): Promise<CacheSavings> {
    if (tenantId === null) requirePlatformAdmin(principal);
    else requireUsageRead(principal, tenantId);
    return this.#store.cacheSavings({ tenantId, range: input.range, filter: input.filter });
  }

  /** A tenant's events in a range, oldest first, streamed from the store in bounded chunks. */
  exportEvents(principal: Principal, tenantId: string, input: { range: DateRange; filter: UsageFilter }): AsyncIterable<UsageEvent> {
    requireUsageRead(principal, tenantId);
    validateRange(input.range);
    return this.#store.exportEvents({ tenantId, range: input.range, filter: input.filter });
  }

  /** Buckets of a tenant's usage for export: the same report the GraphQL API gives. */
  async exportReport(principal: Principal, tenantId: string, input: ReportInput): Promise<UsageReport> {
    requireUsageRead(principal, tenantId);
    validateRange(input.range, input.groupBy);
    const reports = await this.#store.report({ tenantIds: [tenantId], ...input });
    return reports.get(tenantId) as UsageReport;
  }
}
