import type { Repeater } from 'graphql-yoga';
import type { Logger } from '../../shared/logger.ts';
import { requireAuthenticated } from '../identity/index.ts';
import type { Principal } from '../identity/index.ts';
import type { EffectiveLimits, LimitsDirectory } from '../limits/index.ts';
import type { LimiterStore, QuotaSpec, QuotaUse } from '../limits/index.ts';
import type { LimitsMetrics } from '../limits/index.ts';
import type { MonthlyQuota } from '../limits/index.ts';
import type { UsageStore } from '../usage/index.ts';
import { requireUsageRead } from '../usage/index.ts';
import { billingPeriodAt, type BillingPeriod } from '../../shared/billing-period.ts';
import type { QuotaEvents } from './quota-events.ts';
import { quotaView, type QuotaView } from './quota-view.ts';
import type { QuotaWebhook } from './quota-webhook.ts';

export interface QuotaServiceOptions {
  store: LimiterStore;
  directory: Pick<LimitsDirectory, 'get'>;
  usage: {
    store: Pick<UsageStore, 'report'>;
    /** Events recorded but not yet stored are flushed before a period is seeded, when possible. */
    meter?: { flush(options: { timeoutMs?: number }): Promise<void> };
  };
  events: QuotaEvents;
  webhook: QuotaWebhook | undefined;
  logger: Logger;
  metrics: LimitsMetrics;
  now?: () => number;
}

/** Counters stay this long after their period ends, then Redis forgets them. */
const KEEP_AFTER_PERIOD_MS = 2 * 86_400_000;

/**
 * Monthly token quotas: counters per tenant and calendar month (UTC), seeded from the usage store the
 * first time a period is used (so a restart or a new Redis does not reset them), updated as each
 * request settles, and alerts at 80% and 100% to quotaUpdated subscribers and the platform's webhook.
 */
export class QuotaService implements MonthlyQuota {
  readonly #options: QuotaServiceOptions;
  readonly #seeding = new Map<string, Promise<void>>();
  readonly #now: () => number;

  constructor(options: QuotaServiceOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  currentPeriod(): BillingPeriod {
    return billingPeriodAt(this.#now());
  }

  spec(limits: EffectiveLimits, period: BillingPeriod): QuotaSpec {
    return {
      period: period.id,
      expiresAtMs: period.end.getTime() + KEEP_AFTER_PERIOD_MS,
      // The counters take 0 for unlimited.
      tokenLimit: limits.monthlyTokens ?? 0,
      hardTokens: limits.hardQuota,
      requestLimit: limits.requestsPerMonth ?? 0,
    };
  }

  /** Sets the period's counters from the usage store, once per tenant and period (concurrent callers share it). */
  seed(tenantId: string, spec: QuotaSpec, period: BillingPeriod): Promise<void> {
    const key = `${tenantId}\0${period.id}`;
    let seeding = this.#seeding.get(key);
    if (!seeding) {
      seeding = this.#seed(tenantId, spec, period).finally(() => this.#seeding.delete(key));
      this.#seeding.set(key, seeding);
    }
    return seeding;
  }

  async #seed(tenantId: string, spec: QuotaSpec, period: BillingPeriod): Promise<void> {
    const { usage, store, logger } = this.#options;
    await usage.meter?.flush({ timeoutMs: 1_000 }).catch(() => {});
    const base = await this.#fromUsageStore(tenantId, period);
    await store.seedQuota(tenantId, spec, base);
    logger.debug({ tenantId, period: period.month, ...base }, 'quota counters seeded from the usage store');
  }

  async #fromUsageStore(tenantId: string, period: BillingPeriod): Promise<{ tokens: number; requests: number }> {
    const reports = await this.#options.usage.store.report({
      tenantIds: [tenantId],
      range: { from: period.start, to: period.end },
      groupBy: null,
      filter: {},
      latency: false,
    });
    const totals = reports.get(tenantId)?.totals;
    return { tokens: totals?.totalTokens ?? 0, requests: (totals?.requests ?? 0) - (totals?.refused ?? 0) };
  }

  /** The tenant's quota this period. Quota is usage data: an API key needs the usage:read scope, as for Tenant.usage. */
  async quota(principal: Principal, tenantId: string): Promise<QuotaView> {
    requireUsageRead(principal, tenantId);
    const limits = await this.#options.directory.get(tenantId, null);
    const period = this.currentPeriod();
    const use = await this.#use(tenantId, limits, period);
    return this.view(limits, period, use);
  }

  view(limits: EffectiveLimits, period: BillingPeriod, use: Pick<QuotaUse, 'tokens' | 'requests'>, threshold?: number): QuotaView {
    return quotaView({
      tenantId: limits.tenantId,
      planId: limits.plan.id,
      period,
      limit: limits.monthlyTokens ?? 0,
      hardQuota: limits.hardQuota,
      used: use.tokens,
      requests: use.requests,
      requestLimit: limits.requestsPerMonth,
      threshold,
    });
  }

  async #use(tenantId: string, limits: EffectiveLimits, period: BillingPeriod): Promise<Pick<QuotaUse, 'tokens' | 'requests'>> {
    try {
      const use = await this.#options.store.readQuota(tenantId, period.id);
      if (use.seeded) return use;
      await this.seed(tenantId, this.spec(limits, period), period);
      return await this.#options.store.readQuota(tenantId, period.id);
    } catch (error) {
      // The counters are out of reach (Redis down): the usage store says the same, a few seconds late.
      this.#options.logger.warn({ err: error, tenantId }, 'quota counters unreachable; reading the usage store instead');
      return this.#fromUsageStore(tenantId, period);
    }
  }

  /** A settlement crossed alert thresholds: subscribers on every instance hear it, and the platform's webhook. */
  alert(limits: EffectiveLimits, period: BillingPeriod, use: QuotaUse, crossed: readonly number[]): void {
    for (const threshold of crossed) {
      const view = this.view(limits, period, use, threshold);
      this.#options.metrics.quotaAlerts.inc({ threshold: String(threshold) });
      this.#options.logger.info({ tenantId: view.tenantId, period: period.month, threshold, used: view.used, limit: view.limit }, 'quota threshold reached');
      this.#options.events.publish(view).catch((error: unknown) => this.#options.logger.warn({ err: error }, 'could not publish a quota update'));
      this.#options.webhook?.send(view, threshold);
    }
  }

  /** quotaUpdated: a tenant's principals hear their tenant; the platform any tenant, or all (null). */
  subscribe(principal: Principal, tenantId: string | null | undefined): Repeater<QuotaView> {
    const caller = requireAuthenticated(principal);
    // Only the platform can be without a tenant here: it then hears every tenant.
    const target = tenantId ?? caller.tenantId ?? null;
    if (target !== null) requireUsageRead(principal, target);
    return this.#options.events.subscribe(target);
  }
}
