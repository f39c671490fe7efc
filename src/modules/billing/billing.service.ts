import type { ModelConfig } from '../../config.ts';
import type { ChatMessage } from '../../providers/provider.ts';
import { estimatePromptTokens } from '../../providers/token-estimator.ts';
import { badInput, notFound } from '../../shared/errors.ts';
import type { SqlDatabase } from '../../storage/sql-database.ts';
import { requireAuthenticated } from '../auth/access.ts';
import type { Principal } from '../auth/principal.ts';
import type { PlanRow } from '../plan/plan.table.ts';
import { decimalToMicros, tokensCostMicros } from '../pricing/money.ts';
import type { PriceBook } from '../pricing/price-book.ts';
import { billingPeriodAt, daysIn, parseBillingMonth, type BillingPeriod } from '../quota/billing-period.ts';
import { requireUsageRead } from '../usage/usage.service.ts';
import type { CostAmount, UsageStore } from '../usage/usage-store.ts';
import { findPlanChanges, findTenantWithPlans } from './billing.repository.ts';

export interface CostBasis {
  perMillionMicros: bigint;
  currency: string;
}

export interface BillingServiceOptions {
  db: SqlDatabase;
  usage: UsageStore;
  prices: PriceBook;
  /** The models of the running config (it may be reloaded). */
  models: () => readonly ModelConfig[];
  /** Reply budget assumed when a request sets no max_tokens and its model has no context window. */
  defaultMaxTokens: number;
  /** What serving a million tokens costs the platform when a model states no cost basis of its own. */
  defaultCostBasis: CostBasis;
  now?: () => number;
}

export interface CostEstimate {
  model: string;
  promptTokens: number;
  maxTokens: number;
  /** The most the request can cost: every prompt token and maxTokens of reply at the model's prices. */
  cost: CostAmount;
  /** False when the model has no price in the price book (it then costs nothing). */
  priced: boolean;
}

export interface InvoicePlanPeriod {
  plan: PlanRow;
  /** Half-open [from, to), whole UTC days. */
  from: Date;
  to: Date;
  days: number;
  /** The plan's monthly price for these days (days / days in the month), in the plan's currency. */
  baseFee: CostAmount;
}

export interface InvoiceLine {
  model: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** What the price book priced these requests at, per currency (each usage event's cost). */
  priceBookValue: CostAmount[];
  /** The internal cost of serving these tokens. */
  costBasis: CostAmount;
  /** priceBookValue less costBasis, when both are in the same currency. */
  margin: CostAmount | null;
}

export interface Invoice {
  tenantId: string;
  period: BillingPeriod;
  /** False for the current month: a running total that grows until the period ends. */
  final: boolean;
  asOf: Date;
  currency: string;
  planPeriods: InvoicePlanPeriod[];
  baseFee: CostAmount;
  includedTokens: number;
  usedTokens: number;
  overageTokens: number;
  overageRatePerMillion: CostAmount;
  overageCharge: CostAmount;
  total: CostAmount;
  lines: InvoiceLine[];
  /** Platform admin only: the whole period's internal cost and margin (when currencies allow). */
  showCostBasis: boolean;
}

const DAY_MS = 86_400_000;
const micros = (currency: string, value: bigint): CostAmount => ({ currency, micros: Number(value) });

/**
 * Prices and invoices: the most a request can cost before it is sent, and a tenant's invoice for a
 * month (the current one as a running total). Arithmetic in bigint micro-units, rounded half up once
 * per amount, never through a float.
 *
 * Plan changes mid-period: the invoice bills each day at the plan in force at the end of that day
 * (from the audit log of plan changes); the base fee and the included tokens are the sum of each day's
 * share (1/days in the month) of its plan's, and tokens beyond the included ones are billed at the
 * overage rate of the plan in force at the end of the period.
 */
export class BillingService {
  readonly #options: BillingServiceOptions;
  readonly #now: () => number;

  constructor(options: BillingServiceOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  async estimateCost(model: string, prompt: readonly ChatMessage[] | number, maxTokens?: number | null): Promise<CostEstimate> {
    const config = this.#options.models().find((m) => m.name === model);
    if (!config) throw notFound('model', model);
    if (typeof prompt === 'number' && (!Number.isInteger(prompt) || prompt < 0)) throw badInput('promptTokens must be a whole number, 0 or more', { field: 'promptTokens' });
    if (maxTokens != null && (!Number.isInteger(maxTokens) || maxTokens < 0)) throw badInput('maxTokens must be a whole number, 0 or more', { field: 'maxTokens' });
    const promptTokens = typeof prompt === 'number' ? prompt : await estimatePromptTokens(prompt);
    const reply = maxTokens ?? (config.contextWindow ? Math.max(0, config.contextWindow - promptTokens) : this.#options.defaultMaxTokens);
    const price = this.#options.prices.price(model);
    if (!price) return { model, promptTokens, maxTokens: reply, cost: { currency: 'USD', micros: 0 }, priced: false };
    const cost = tokensCostMicros(promptTokens, price.inputPerMillionMicros) + tokensCostMicros(reply, price.outputPerMillionMicros);
    return { model, promptTokens, maxTokens: reply, cost: micros(price.currency, cost), priced: true };
  }

  /** The tenant's invoice for `month` (YYYY-MM; default the current one). */
  async invoicePreview(principal: Principal, tenantId: string, month?: string | null): Promise<Invoice> {
    requireUsageRead(principal, tenantId);
    const now = this.#now();
    const period = month ? parseBillingMonth(month) : billingPeriodAt(now);
    if (period.start.getTime() > now) throw badInput(`${period.month} has not started yet`, { field: 'month' });
    const final = period.end.getTime() <= now;
    const asOf = new Date(Math.min(now, period.end.getTime()));

    const [tenant, changes, reports] = await Promise.all([
      findTenantWithPlans(this.#options.db, tenantId),
      findPlanChanges(this.#options.db, tenantId, period.start),
      this.#options.usage.report({ tenantIds: [tenantId], range: { from: period.start, to: period.end }, groupBy: 'model', filter: {}, latency: false }),
    ]);
    if (!tenant) throw notFound('tenant', tenantId);
    const plans = tenant.plans;
    const planOf = (id: string) => plans.get(id) ?? tenant.plan;

    // The plan in force at time t: the last change before t, else what the first later change changed from.
    const planAt = (t: number): PlanRow => {
      let id = tenant.plan.id;
      const before = changes.filter((c) => c.at.getTime() < t);
      if (before.length > 0) id = before[before.length - 1]!.to;
      else if (changes.length > 0) id = changes[0]!.from;
      return planOf(id);
    };

    const days = daysIn(period);
    const planPeriods: InvoicePlanPeriod[] = [];
    for (let day = 0; day < days; day++) {
      const from = period.start.getTime() + day * DAY_MS;
      const plan = planAt(from + DAY_MS);
      const last = planPeriods[planPeriods.length - 1];
      if (last && last.plan.id === plan.id) {
        last.days += 1;
        last.to = new Date(from + DAY_MS);
      } else {
        planPeriods.push({ plan, from: new Date(from), to: new Date(from + DAY_MS), days: 1, baseFee: { currency: plan.currency, micros: 0 } });
      }
    }
    const closing = planPeriods[planPeriods.length - 1]!.plan;
    const currency = closing.currency;
    let baseFeeSum = 0n;
    let includedSum = 0n;
    for (const span of planPeriods) {
      const price = decimalToMicros(span.plan.monthly_price) * BigInt(span.days);
      span.baseFee = micros(span.plan.currency, divideHalfUp(price, BigInt(days)));
      if (span.plan.currency === currency) baseFeeSum += price;
      includedSum += BigInt(span.plan.monthly_tokens) * BigInt(span.days);
    }
    const baseFee = divideHalfUp(baseFeeSum, BigInt(days));
    const includedTokens = Number(includedSum / BigInt(days));

    const report = reports.get(tenantId);
    const usedTokens = report?.totals.totalTokens ?? 0;
    const overageTokens = Math.max(0, usedTokens - includedTokens);
    const rate = decimalToMicros(closing.overage_per_million);
    const overageCharge = tokensCostMicros(overageTokens, rate);

    const lines: InvoiceLine[] = (report?.buckets ?? []).map((bucket) => {
      const model = bucket.key ?? '';
      const basis = this.#costBasis(model);
      const costBasis = tokensCostMicros(bucket.totals.totalTokens, basis.perMillionMicros);
      const costs = bucket.totals.costs;
      const comparable = costs.length === 0 || (costs.length === 1 && costs[0]!.currency === basis.currency);
      return {
        model,
        requests: bucket.totals.requests,
        promptTokens: bucket.totals.promptTokens,
        completionTokens: bucket.totals.completionTokens,
        totalTokens: bucket.totals.totalTokens,
        priceBookValue: bucket.totals.costs,
        costBasis: micros(basis.currency, costBasis),
        margin: comparable ? micros(basis.currency, BigInt(costs[0]?.micros ?? 0) - costBasis) : null,
      };
    });

    return {
      tenantId,
      period,
      final,
      asOf,
      currency,
      planPeriods,
      baseFee: micros(currency, baseFee),
      includedTokens,
      usedTokens,
      overageTokens,
      overageRatePerMillion: micros(currency, rate),
      overageCharge: micros(currency, overageCharge),
      total: micros(currency, baseFee + overageCharge),
      lines,
      showCostBasis: requireAuthenticated(principal).kind === 'platform',
    };
  }

  #costBasis(model: string): CostBasis {
    const config = this.#options.models().find((m) => m.name === model);
    if (config?.costBasis) return { perMillionMicros: decimalToMicros(config.costBasis.perMillion), currency: config.costBasis.currency };
    return this.#options.defaultCostBasis;
  }
}

function divideHalfUp(value: bigint, by: bigint): bigint {
  return (value * 2n + by) / (by * 2n);
}
