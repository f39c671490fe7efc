import { growingLru } from '../../shared/growing-lru.ts';
import { notFound } from '../../shared/errors.ts';
import { isDatabaseUnavailable } from '../../storage/database-outage.ts';
import type { SqlDatabase } from '../../storage/sql-database.ts';
import type { PlanRow } from '../plan/index.ts';
import type { LimitSpec } from './limiter-store.ts';
import { loadLimitsRecord, type LimitsRecord } from './limits.repository.ts';

/** The limits one caller is held to: the tenant's plan with the tenant's and its key's overrides. */
export interface EffectiveLimits {
  tenantId: string;
  apiKeyId: string | null;
  plan: PlanRow;
  /** null: no cap (an unlimited plan). */
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
  concurrentRequests: number | null;
  requestsPerHour: number | null;
  requestsPerMonth: number | null;
  /** null: unlimited. */
  monthlyTokens: number | null;
  hardQuota: boolean;
  /** The key's own limits, when it has an override (otherwise the tenant's apply to it alone). */
  key: { requestsPerMinute: number | null; tokensPerMinute: number | null; concurrentRequests: number | null } | null;
  /** What each admission is checked against, built once per cache entry. */
  specs: LimitSpec[];
  /** Indexes into specs of the request and token windows the x-ratelimit-* headers describe. */
  requestSpecs: number[];
  tokenSpecs: number[];
  /** The store's limits version read just before these limits (see LimiterStore.limitsVersion); undefined if it could not be read. */
  version: string | undefined;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;

export function effectiveLimits(record: LimitsRecord, apiKeyId: string | null, concurrencyLeaseMs: number, version?: string): EffectiveLimits {
  const { plan, tenantOverride, keyOverride } = record;
  const requestsPerMinute = tenantOverride?.requests_per_minute ?? plan.requests_per_minute;
  const tokensPerMinute = tenantOverride?.tokens_per_minute ?? plan.tokens_per_minute;
  const concurrentRequests = tenantOverride?.concurrent_requests ?? plan.concurrent_requests;
  const key = keyOverride
    ? { requestsPerMinute: keyOverride.requests_per_minute, tokensPerMinute: keyOverride.tokens_per_minute, concurrentRequests: keyOverride.concurrent_requests }
    : null;
  const specs: LimitSpec[] = [];
  const requestSpecs: number[] = [];
  const tokenSpecs: number[] = [];
  const add = (spec: LimitSpec, into?: number[]) => {
    into?.push(specs.length);
    specs.push(spec);
  };
  if (requestsPerMinute !== null) add({ kind: 'requests', scope: 'tenant', name: 'rpm', limit: requestsPerMinute, windowMs: MINUTE }, requestSpecs);
  if (tokensPerMinute !== null) add({ kind: 'tokens', scope: 'tenant', name: 'tpm', limit: tokensPerMinute, windowMs: MINUTE }, tokenSpecs);
  if (concurrentRequests !== null) add({ kind: 'concurrency', scope: 'tenant', name: 'conc', limit: concurrentRequests, windowMs: concurrencyLeaseMs });
  if (plan.requests_per_hour !== null) add({ kind: 'requests', scope: 'tenant', name: 'rph', limit: plan.requests_per_hour, windowMs: HOUR });
  if (key?.requestsPerMinute != null) add({ kind: 'requests', scope: 'key', name: 'rpm', limit: key.requestsPerMinute, windowMs: MINUTE }, requestSpecs);
  if (key?.tokensPerMinute != null) add({ kind: 'tokens', scope: 'key', name: 'tpm', limit: key.tokensPerMinute, windowMs: MINUTE }, tokenSpecs);
  if (key?.concurrentRequests != null) add({ kind: 'concurrency', scope: 'key', name: 'conc', limit: key.concurrentRequests, windowMs: concurrencyLeaseMs });
  return {
    tenantId: record.tenantId,
    apiKeyId,
    plan,
    requestsPerMinute,
    tokensPerMinute,
    concurrentRequests,
    requestsPerHour: plan.requests_per_hour,
    requestsPerMonth: plan.requests_per_month,
    monthlyTokens: plan.monthly_tokens,
    hardQuota: plan.hard_quota,
    key,
    specs,
    requestSpecs,
    tokenSpecs,
    version,
  };
}

export interface LimitsDirectoryOptions {
  db: SqlDatabase;
  /** A cached entry is used as it is for this long... */
  freshMs: number;
  /** ...then served while it is reloaded in the background, up to this age. */
  maxStaleMs?: number;
  /** While the database is unreachable, an entry up to this old is still served (default 0: none past maxStaleMs). */
  outageGraceMs?: number;
  /** The store's version of a tenant's limits, read before the limits (see LimiterStore.limitsVersion). */
  version?: (tenantId: string) => Promise<string>;
  concurrencyLeaseMs: number;
  now?: () => number;
}

interface CacheEntry {
  limits: EffectiveLimits;
  loadedAt: number;
  generation: number;
}

/**
 * Each tenant's limits, cached briefly per instance so an admission does not query the database.
 * A plan or override change here invalidates at once; other instances hear of it through the limits
 * bus, and should they not have yet, their next admission finds the limits version moved on (see
 * LimitsGate) and reads them again.
 */
export class LimitsDirectory {
  readonly #options: LimitsDirectoryOptions;
  readonly #cache = growingLru<string, CacheEntry>(50_000);
  readonly #loading = new Map<string, Promise<EffectiveLimits>>();
  /** Bumped per tenant on invalidation; entries of an older generation are not served. */
  readonly #generations = new Map<string, number>();
  readonly #now: () => number;
  readonly #maxStaleMs: number;

  constructor(options: LimitsDirectoryOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#maxStaleMs = options.maxStaleMs ?? 30_000;
  }

  get(tenantId: string, apiKeyId: string | null): Promise<EffectiveLimits> | EffectiveLimits {
    const cacheKey = `${tenantId}\0${apiKeyId ?? ''}`;
    const entry = this.#cache.get(cacheKey);
    const generation = this.#generations.get(tenantId) ?? 0;
    if (entry && entry.generation === generation) {
      const age = this.#now() - entry.loadedAt;
      if (age < this.#options.freshMs) return entry.limits;
      if (age < this.#maxStaleMs) {
        this.#load(cacheKey, tenantId, apiKeyId).catch(() => {});
        return entry.limits;
      }
      if (age < (this.#options.outageGraceMs ?? 0)) {
        return this.#load(cacheKey, tenantId, apiKeyId).catch((error: unknown) => {
          if (isDatabaseUnavailable(error) && this.#cache.get(cacheKey) === entry && entry.generation === (this.#generations.get(tenantId) ?? 0)) return entry.limits;
          throw error;
        });
      }
    }
    return this.#load(cacheKey, tenantId, apiKeyId);
  }

  /** Forgets the tenant's cached limits (a plan or override changed). */
  invalidate(tenantId: string): void {
    this.#generations.set(tenantId, (this.#generations.get(tenantId) ?? 0) + 1);
  }

  #load(cacheKey: string, tenantId: string, apiKeyId: string | null): Promise<EffectiveLimits> {
    const generation = this.#generations.get(tenantId) ?? 0;
    const loadingKey = `${cacheKey}\0${generation}`;
    const pending = this.#loading.get(loadingKey);
    if (pending) return pending;
    const loadedAt = this.#now();
    // The version first: a change committed after it is read shows as a newer version at admission.
    const version = this.#options.version?.(tenantId).catch(() => undefined) ?? Promise.resolve(undefined);
    const load = version
      .then(async (at) => ({ at, record: await loadLimitsRecord(this.#options.db, tenantId, apiKeyId) }))
      .then(({ at, record }) => {
        if (!record) throw notFound('tenant', tenantId);
        const limits = effectiveLimits(record, apiKeyId, this.#options.concurrencyLeaseMs, at);
        // A change that landed while this was loading makes the result stale already: do not keep it.
        if ((this.#generations.get(tenantId) ?? 0) === generation) this.#cache.set(cacheKey, { limits, loadedAt, generation });
        return limits;
      })
      .finally(() => this.#loading.delete(loadingKey));
    this.#loading.set(loadingKey, load);
    return load;
  }
}
