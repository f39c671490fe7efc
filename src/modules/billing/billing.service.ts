import type { ModelConfig } from '../../config.ts';
import type { ChatMessage } from '../../providers/provider.ts';
import { estimatePromptTokens } from '../../providers/token-estimator.ts';
import { badInput, notFound } from '../../shared/errors.ts';
import type { SqlDatabase } from '../../storage/sql-database.ts';
import { requireAuthenticated } from '../identity/index.ts';
import type { Principal } from '../identity/index.ts';
import { priceInForce, tieredCostMicros } from '../plan/index.ts';
import { findPlanPrices } from '../plan/index.ts';
import type { PlanPriceRow, PlanRow } from '../plan/index.ts';
import { decimalToMicros, tokensCostMicros } from '../pricing/index.ts';
import type { PriceBook } from '../pricing/index.ts';
import { billingPeriodAt, daysIn, parseBillingMonth, type BillingPeriod } from '../../shared/billing-period.ts';
import { requireUsageRead } from '../usage/index.ts';
import type { CostAmount, UsageStore } from '../usage/index.ts';
import { findBudgets } from '../budget/index.ts';
import { findPlanChanges, findTenantWithPlans } from './billing.repository.ts';
import { crossingDay, project, type ForecastMethod } from './forecast.ts';

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
  /** The plan's monthly price for these days at the price versions in force, in the plan's currency. */
  baseFee: CostAmount;
}

/** A stretch of the month at one plan and one version of its price. */
export interface InvoiceCharge {
  plan: PlanRow;
  price: PlanPriceRow;
  /** Half-open [from, to). */
  from: Date;
  to: Date;
  /** The monthly price times this stretch's share of the month. */
  baseFee: CostAmount;
  /** Tokens served in the stretch. */
  tokens: number;
  /** Of those, the ones beyond the month's included tokens (counted in the order they were served). */
  overageTokens: number;
  /** overageTokens at this version's tiers, from where the month's overage stood when the stretch began. */
  overageCharge: CostAmount;
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
  charges: InvoiceCharge[];
  baseFee: CostAmount;
  /** null: unlimited (a day of the month was on a plan without a monthly token cap). */
  includedTokens: number | null;
  usedTokens: number;
  overageTokens: number;
  /** The first tier's rate of the price in force at the end of the period. */
  overageRatePerMillion: CostAmount;
  overageCharge: CostAmount;
  total: CostAmount;
  lines: InvoiceLine[];
  /** Platform admin only: the whole period's internal cost and margin (when currencies allow). */
  showCostBasis: boolean;
}

export interface BudgetForecast {
  apiKeyId: string | null;
  limit: CostAmount;
  spent: CostAmount;
  projected: CostAmount;
  /** YYYY-MM-DD (UTC) the budget is (or was) spent on if the trend holds; null if not this month. */
  crossingDate: string | null;
}

export interface Forecast {
  tenantId: string;
  period: BillingPeriod;
  asOf: Date;
  method: ForecastMethod;
  /** Complete days of this month the projection is drawn from. */
  daysObserved: number;
  usedTokens: number;
  projectedTokens: number;
  /** The month's price-book cost so far and projected, per currency. */
  costs: { spent: CostAmount; projected: CostAmount }[];
  /** The plan's monthly tokens (null: unlimited) and the date they are (or were) used up if the trend holds. */
  includedTokens: number | null;
  quotaCrossingDate: string | null;
  budgets: BudgetForecast[];
}

const DAY_MS = 86_400_000;
const micros = (currency: string, value: bigint): CostAmount => ({ currency, micros: Number(value) });

/**
 * Prices and invoices: the most a request can cost before it is sent, and a tenant's invoice for a
 * month (the current one as a running total). Arithmetic in bigint micro-units, rounded half up once
 * per amount, never through a float.
 *
 * Plan changes mid-period: the invoice bills each day at the plan in force at the end of that day
 * (from the audit log of plan changes); the included tokens are the sum of each day's share (1/days in
 * the month) of its plan's. Price changes: the month is cut where a plan's new price version takes
 * effect, each stretch bills its share of the month (by time) at its version's monthly price, and the
 * tokens served in it that go beyond the included ones at its version's tiers. Versions never change
 * once in force, so an invoice comes out the same after any later edit.
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
        planPeriods.push({ plan, from: new Date(from), to: new Date(from + DAY_MS), days: 1, baseFee: { currency: '', micros: 0 } });
      }
    }

    const versions = await findPlanPrices(this.#options.db, [...new Set(planPeriods.map((span) => span.plan.id))]);
    const monthMs = BigInt(period.end.getTime() - period.start.getTime());
    const stretches = planPeriods.flatMap((span) => {
      const own = versions.filter((v) => v.plan_id === span.plan.id);
      const parts = splitAtVersions(own, span.from.getTime(), span.to.getTime());
      const fees = parts.map((part) => decimalToMicros(part.price.monthly_price) * BigInt(part.to - part.from));
      span.baseFee = micros(parts[0]!.price.currency, divideHalfUp(fees.reduce((a, b) => a + b, 0n), monthMs));
      return parts.map((part, i) => ({ plan: span.plan, ...part, fee: fees[i]! }));
    });

    const closing = stretches[stretches.length - 1]!.price;
    const currency = closing.currency;
    const baseFee = divideHalfUp(
      stretches.filter((part) => part.price.currency === currency).reduce((sum, part) => sum + part.fee, 0n),
      monthMs,
    );
    const unlimited = planPeriods.some((span) => span.plan.monthly_tokens === null);
    const includedTokens = unlimited ? null : Number(planPeriods.reduce((sum, span) => sum + BigInt(span.plan.monthly_tokens!) * BigInt(span.days), 0n) / BigInt(days));

    // Each stretch's tokens, from the usage store over its exact range, then the overage in the order served.
    const stretchTotals = await Promise.all(
      stretches.map((part) =>
        this.#options.usage
          .report({ tenantIds: [tenantId], range: { from: new Date(part.from), to: new Date(part.to) }, groupBy: null, filter: {}, latency: false })
          .then((result) => result.get(tenantId)?.totals.totalTokens ?? 0),
      ),
    );
    let served = 0;
    let overageCharge = 0n;
    const charges: InvoiceCharge[] = stretches.map((part, i) => {
      const tokens = stretchTotals[i]!;
      const overageBefore = includedTokens === null ? 0 : Math.max(0, served - includedTokens);
      served += tokens;
      const overageAfter = includedTokens === null ? 0 : Math.max(0, served - includedTokens);
      const charge = tieredCostMicros(part.price.overage_tiers, overageBefore, overageAfter - overageBefore);
      if (part.price.currency === currency) overageCharge += charge;
      return {
        plan: part.plan,
        price: part.price,
        from: new Date(part.from),
        to: new Date(part.to),
        baseFee: micros(part.price.currency, divideHalfUp(part.fee, monthMs)),
        tokens,
        overageTokens: overageAfter - overageBefore,
        overageCharge: micros(part.price.currency, charge),
      };
    });

    const report = reports.get(tenantId);
    const usedTokens = report?.totals.totalTokens ?? 0;
    const overageTokens = includedTokens === null ? 0 : Math.max(0, usedTokens - includedTokens);
    const rate = decimalToMicros(closing.overage_tiers[0]!.perMillion);

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
      charges,
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

  /** Month-end tokens and cost from this month's daily usage, and when the quota and budgets are crossed (see forecast.ts). */
  async forecast(principal: Principal, tenantId: string, method: ForecastMethod): Promise<Forecast> {
    requireUsageRead(principal, tenantId);
    const now = this.#now();
    const period = billingPeriodAt(now);
    const elapsed = now - period.start.getTime();
    const today = Math.floor(elapsed / DAY_MS);
    const shape = { today, todayLeft: 1 - (elapsed % DAY_MS) / DAY_MS, firstWeekday: period.start.getUTCDay(), method };
    const [tenant, budgets] = await Promise.all([findTenantWithPlans(this.#options.db, tenantId), findBudgets(this.#options.db, tenantId)]);
    if (!tenant) throw notFound('tenant', tenantId);
    const daily = async (apiKeyIds: string[] | null) => {
      const reports = await this.#options.usage.report({
        tenantIds: [tenantId],
        range: { from: period.start, to: period.end },
        groupBy: 'day',
        filter: apiKeyIds ? { apiKeyIds } : {},
        latency: false,
      });
      const days = daysIn(period);
      const tokens = new Array<number>(days).fill(0);
      const costs = new Map<string, number[]>();
      for (const bucket of reports.get(tenantId)?.buckets ?? []) {
        const day = Math.round((bucket.start!.getTime() - period.start.getTime()) / DAY_MS);
        tokens[day] = bucket.totals.totalTokens;
        for (const cost of bucket.totals.costs) {
          if (!costs.has(cost.currency)) costs.set(cost.currency, new Array<number>(days).fill(0));
          costs.get(cost.currency)![day] = cost.micros;
        }
      }
      return { tokens, costs };
    };
    const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
    const dateOf = (day: number | null) => (day === null ? null : new Date(period.start.getTime() + day * DAY_MS).toISOString().slice(0, 10));

    const all = await daily(null);
    const tokens = project({ ...shape, daily: all.tokens });
    const includedTokens = tenant.plan.monthly_tokens;
    const budgetForecasts = await Promise.all(
      budgets.map(async (budget): Promise<BudgetForecast> => {
        const series = budget.api_key_id ? await daily([budget.api_key_id]) : all;
        const costs = series.costs.get(budget.currency) ?? new Array<number>(daysIn(period)).fill(0);
        const projection = project({ ...shape, daily: costs });
        const limit = Number(decimalToMicros(budget.monthly_limit));
        return {
          apiKeyId: budget.api_key_id || null,
          limit: { currency: budget.currency, micros: limit },
          spent: { currency: budget.currency, micros: sum(costs) },
          projected: { currency: budget.currency, micros: Math.round(projection.total) },
          crossingDate: dateOf(crossingDay(projection.days, limit)),
        };
      }),
    );
    return {
      tenantId,
      period,
      asOf: new Date(now),
      method,
      daysObserved: today,
      usedTokens: sum(all.tokens),
      projectedTokens: Math.round(tokens.total),
      costs: [...all.costs].sort(([a], [b]) => a.localeCompare(b)).map(([currency, values]) => ({
        spent: { currency, micros: sum(values) },
        projected: { currency, micros: Math.round(project({ ...shape, daily: values }).total) },
      })),
      includedTokens,
      quotaCrossingDate: includedTokens === null ? null : dateOf(crossingDay(tokens.days, includedTokens)),
      budgets: budgetForecasts,
    };
  }

  #costBasis(model: string): CostBasis {
    const config = this.#options.models().find((m) => m.name === model);
    if (config?.costBasis) return { perMillionMicros: decimalToMicros(config.costBasis.perMillion), currency: config.costBasis.currency };
    return this.#options.defaultCostBasis;
  }
}

/** [from, to) cut where a new price version takes effect, each part with the version in force in it. */
function splitAtVersions(versions: readonly PlanPriceRow[], from: number, to: number): { from: number; to: number; price: PlanPriceRow }[] {
  const parts: { from: number; to: number; price: PlanPriceRow }[] = [];
  let start = from;
  for (const version of versions) {
    const at = version.effective_from.getTime();
    if (at <= start || at >= to) continue;
    parts.push({ from: start, to: at, price: priceInForce(versions, start)! });
    start = at;
  }
  parts.push({ from: start, to, price: priceInForce(versions, start)! });
  return parts;
}

function divideHalfUp(value: bigint, by: bigint): bigint {
  return (value * 2n + by) / (by * 2n);
}
