import { Repeater } from 'graphql-yoga';
import type { Broadcast } from '../../shared/broadcast.ts';
import { badInput, DomainError, notFound } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import type { SqlDatabase } from '../../storage/sql-database.ts';
import { recordAudit } from '../audit/index.ts';
import { requireAuthenticated, requireTenantAdmin } from '../identity/index.ts';
import { requireUsageRead } from '../usage/index.ts';
import type { Principal } from '../identity/index.ts';
import type { CompletionCaller } from '../completion/index.ts';
import { priceInForce } from '../plan/index.ts';
import { findPlanPrices } from '../plan/index.ts';
import { decimalToMicros, microsToDecimal } from '../pricing/index.ts';
import { billingPeriodAt, type BillingPeriod } from '../../shared/billing-period.ts';
import type { QuotaWebhook } from '../quota/index.ts';
import type { UsageStore } from '../usage/index.ts';
import type { BudgetLedger } from './budget-ledger.ts';
import { budgetViewFromJson, budgetViewToJson, type BudgetView } from './budget-view.ts';
import { deleteBudget, findAllBudgets, findBudgets, upsertBudget } from './budget.repository.ts';
import type { BudgetRow } from './budget.table.ts';

type Actor = { principal: Principal; requestId: string };

export interface SetBudgetInput {
  tenantId: string;
  /** Omitted: the tenant's budget over all its keys. */
  apiKeyId?: string | null;
  /** Decimal string in the currency of the tenant's plan. */
  monthlyLimit: string;
  /** Percentages of the limit, 1 to 100; default 50, 80 and 100. */
  alertThresholds?: readonly number[] | null;
  hardStop?: boolean | null;
}

export interface BudgetServiceOptions {
  db: SqlDatabase;
  ledger: BudgetLedger;
  /** Names this deployment's counters in a shared Redis. */
  keyPrefix: string;
  usage: UsageStore;
  broadcast: Broadcast;
  webhook: QuotaWebhook | undefined;
  logger: Logger;
  /** Every budget is held in memory and read again this often, in case a change's message was missed (a change is heard at once). */
  refreshMs?: number;
  now?: () => number;
}

const changedTopic = 'budget:changed';
const alertTopic = 'budget:alert';
const DEFAULT_THRESHOLDS = [50, 80, 100];
/** Counters outlive their period by a few days, for late settlements. */
const KEEP_AFTER_PERIOD_MS = 3 * 86_400_000;

/** A request refused because a budget with a hard stop is spent: 402 budget_exceeded on /v1. */
export class BudgetExceeded extends DomainError {
  constructor(view: BudgetView) {
    const limit = microsToDecimal(view.limitMicros, 2);
    const spent = microsToDecimal(view.spentMicros, 2);
    const whose = view.apiKeyId ? `API key ${view.apiKeyId}'s` : "the tenant's";
    super('BUDGET_EXCEEDED', `${whose} budget of ${view.currency} ${limit} for ${view.period.month} is spent (${view.currency} ${spent}); it resets at ${view.period.end.toISOString()}.`, {
      budget: {
        scope: view.apiKeyId ? 'api_key' : 'tenant',
        api_key_id: view.apiKeyId,
        period: view.period.month,
        currency: view.currency,
        limit,
        spent,
        resets_at: view.period.end.toISOString(),
      },
    });
  }
}

/**
 * Money budgets per tenant and per API key. Spent is the price-book cost of the requests served this
 * month in the budget's currency, counted at settlement; a hard stop refuses a request at admission
 * once a budget is spent, so it is overshot by at most what the requests in flight then cost, on every
 * instance together. Each threshold alerts once per period across instances: only the settlement that
 * carries the shared counter across it raises it.
 */
export class BudgetService {
  readonly #options: BudgetServiceOptions;
  readonly #now: () => number;
  /** Every tenant's budgets: a request of a tenant without any costs a map lookup, nothing more. */
  #byTenant = new Map<string, BudgetRow[]>();
  readonly #refresh: NodeJS.Timeout;
  readonly #listeners = new Set<(view: BudgetView) => void>();
  readonly #unsubscribe: (() => void)[];

  constructor(options: BudgetServiceOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#unsubscribe = [
      options.broadcast.subscribe(changedTopic, (tenantId) => {
        this.#reloadTenant(tenantId).catch((error: unknown) => options.logger.warn({ err: error, tenantId }, 'could not reload budgets; they are read again shortly'));
      }),
      options.broadcast.subscribe(alertTopic, (message) => {
        const view = budgetViewFromJson(message);
        for (const listener of this.#listeners) listener(view);
      }),
    ];
    this.#refresh = setInterval(() => {
      this.load().catch((error: unknown) => options.logger.warn({ err: error }, 'could not reload budgets; the ones held stay'));
    }, options.refreshMs ?? 30_000);
    this.#refresh.unref();
  }

  /** Reads every budget (at start, then every refreshMs). */
  async load(): Promise<void> {
    const byTenant = new Map<string, BudgetRow[]>();
    for (const budget of await findAllBudgets(this.#options.db)) byTenant.set(budget.tenant_id, [...(byTenant.get(budget.tenant_id) ?? []), budget]);
    this.#byTenant = byTenant;
  }

  async list(principal: Principal, tenantId: string): Promise<BudgetView[]> {
    requireUsageRead(principal, tenantId);
    const budgets = await findBudgets(this.#options.db, tenantId);
    const period = billingPeriodAt(this.#now());
    return Promise.all(budgets.map(async (budget) => this.#view(budget, period, await this.#spentForDisplay(budget, period), null)));
  }

  async set(actor: Actor, input: SetBudgetInput): Promise<BudgetView> {
    requireTenantAdmin(actor.principal, input.tenantId);
    if (!/^\d{1,9}(\.\d{1,2})?$/.test(input.monthlyLimit) || decimalToMicros(input.monthlyLimit) === 0n) {
      throw badInput('monthlyLimit must be a positive decimal string with at most 2 decimals, e.g. "250.00"', { field: 'monthlyLimit' });
    }
    const thresholds = [...new Set(input.alertThresholds ?? DEFAULT_THRESHOLDS)].sort((a, b) => a - b);
    if (thresholds.length > 10 || thresholds.some((t) => !Number.isInteger(t) || t < 1 || t > 100)) {
      throw badInput('alertThresholds must be up to 10 whole percentages from 1 to 100', { field: 'alertThresholds' });
    }
    const apiKeyId = input.apiKeyId ?? '';
    const budget = await this.#options.db.transaction().execute(async (trx) => {
      const tenant = await trx.selectFrom('tenant').select('plan_id').where('id', '=', input.tenantId).executeTakeFirst();
      if (!tenant) throw notFound('tenant', input.tenantId);
      if (apiKeyId) {
        const key = await trx.selectFrom('api_key').select('id').where('id', '=', apiKeyId).where('tenant_id', '=', input.tenantId).executeTakeFirst();
        if (!key) throw notFound('API key', apiKeyId);
      }
      const price = priceInForce(await findPlanPrices(trx, [tenant.plan_id]), this.#now());
      const row = await upsertBudget(trx, {
        tenant_id: input.tenantId,
        api_key_id: apiKeyId,
        monthly_limit: input.monthlyLimit,
        currency: price?.currency ?? 'USD',
        alert_thresholds: thresholds,
        hard_stop: input.hardStop ?? false,
      });
      await recordAudit(trx, actor, { tenantId: input.tenantId, action: 'budget.set', target: apiKeyId || input.tenantId, details: { monthlyLimit: input.monthlyLimit, currency: row.currency, thresholds, hardStop: row.hard_stop } });
      return row;
    });
    await this.#changed(input.tenantId);
    const period = billingPeriodAt(this.#now());
    return this.#view(budget, period, await this.#spentForDisplay(budget, period), null);
  }

  async remove(actor: Actor, tenantId: string, apiKeyId: string | null | undefined): Promise<boolean> {
    requireTenantAdmin(actor.principal, tenantId);
    const removed = await this.#options.db.transaction().execute(async (trx) => {
      const done = await deleteBudget(trx, tenantId, apiKeyId ?? '');
      if (done) await recordAudit(trx, actor, { tenantId, action: 'budget.remove', target: apiKeyId || tenantId, details: {} });
      return done;
    });
    await this.#changed(tenantId);
    return removed;
  }

  /** Before a request: refuses it when a budget with a hard stop that applies to the caller is spent; undefined when none applies. */
  admit(caller: CompletionCaller): Promise<void> | undefined {
    const budgets = this.#applying(caller.tenantId, caller.apiKeyId);
    return budgets.length === 0 ? undefined : this.#check(caller, budgets);
  }

  async #check(caller: CompletionCaller, budgets: readonly BudgetRow[]): Promise<void> {
    const period = billingPeriodAt(this.#now());
    for (const budget of budgets) {
      let spent: number;
      try {
        spent = await this.#spent(budget, period);
      } catch (error) {
        // Counters out of reach: a hard stop fails closed (serving on could spend past it), an alert-only budget open.
        this.#options.logger.warn({ err: error, tenantId: caller.tenantId }, 'budget counters unreachable');
        if (!budget.hard_stop) continue;
        throw new DomainError('UPSTREAM_UNAVAILABLE', 'The budget cannot be checked because its counters are unreachable; the request was not sent. Please retry shortly.', { retryAfter: 5 });
      }
      if (budget.hard_stop && spent >= Number(decimalToMicros(budget.monthly_limit))) throw new BudgetExceeded(this.#view(budget, period, spent, null));
    }
  }

  /** After a request: adds its cost to the budgets that apply, and alerts at each threshold crossed. */
  async spend(caller: CompletionCaller, cost: { micros: number; currency: string }): Promise<void> {
    if (cost.micros <= 0) return;
    const budgets = this.#applying(caller.tenantId, caller.apiKeyId).filter((b) => b.currency === cost.currency);
    const period = billingPeriodAt(this.#now());
    for (const budget of budgets) {
      const after = await this.#options.ledger.add(this.#key(budget, period), cost.micros);
      if (after === null) continue;
      const limit = Number(decimalToMicros(budget.monthly_limit));
      const before = after - cost.micros;
      for (const threshold of budget.alert_thresholds) {
        const mark = (limit * threshold) / 100;
        if (before < mark && after >= mark) this.alert(this.#view(budget, period, after, threshold));
      }
    }
  }

  /** budgetAlert: a tenant's principals hear their tenant; the platform any tenant, or all (null). */
  subscribe(principal: Principal, tenantId: string | null | undefined): Repeater<BudgetView> {
    const caller = requireAuthenticated(principal);
    const target = tenantId ?? caller.tenantId ?? null;
    if (target !== null) requireUsageRead(principal, target);
    return new Repeater<BudgetView>(async (push, stop) => {
      const listener = (view: BudgetView) => {
        if (target === null || view.tenantId === target) push(view).catch(() => {});
      };
      this.#listeners.add(listener);
      await stop;
      this.#listeners.delete(listener);
    });
  }

  close(): void {
    clearInterval(this.#refresh);
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#listeners.clear();
  }

  /** A threshold reached: subscribers on every instance hear it, and the platform's webhook (once per id). */
  alert(view: BudgetView): void {
    const id = `budget_${view.tenantId}_${view.apiKeyId ?? 'tenant'}_${view.period.id}_${view.threshold}`;
    this.#options.logger.info({ tenantId: view.tenantId, apiKeyId: view.apiKeyId, period: view.period.month, threshold: view.threshold }, 'budget threshold reached');
    this.#options.broadcast.publish(alertTopic, budgetViewToJson(view)).catch((error: unknown) => this.#options.logger.warn({ err: error }, 'could not publish a budget alert'));
    this.#options.webhook?.deliver(
      id,
      JSON.stringify({
        id,
        type: 'budget.threshold_reached',
        created: Math.floor(this.#now() / 1000),
        data: {
          tenant_id: view.tenantId,
          api_key_id: view.apiKeyId,
          period: view.period.month,
          threshold: view.threshold,
          currency: view.currency,
          limit: microsToDecimal(view.limitMicros, 2),
          spent: microsToDecimal(view.spentMicros, 2),
          hard_stop: view.hardStop,
        },
      }),
    );
  }

  /** The counter, seeded from the usage store the first time this period. */
  async #spent(budget: BudgetRow, period: BillingPeriod): Promise<number> {
    const key = this.#key(budget, period);
    const [spent] = await this.#options.ledger.spent([key]);
    if (spent != null) return spent;
    return this.#options.ledger.seed(key, await this.#fromStore(budget, period), period.end.getTime() + KEEP_AFTER_PERIOD_MS);
  }

  /** For reading: the counter, or with the counters out of reach what the usage store says (a few seconds behind). */
  async #spentForDisplay(budget: BudgetRow, period: BillingPeriod): Promise<number> {
    try {
      return await this.#spent(budget, period);
    } catch (error) {
      this.#options.logger.warn({ err: error, tenantId: budget.tenant_id }, 'budget counters unreachable; reading the usage store instead');
      return this.#fromStore(budget, period);
    }
  }

  async #fromStore(budget: BudgetRow, period: BillingPeriod): Promise<number> {
    const reports = await this.#options.usage.report({
      tenantIds: [budget.tenant_id],
      range: { from: period.start, to: period.end },
      groupBy: null,
      filter: budget.api_key_id ? { apiKeyIds: [budget.api_key_id] } : {},
      latency: false,
    });
    return reports.get(budget.tenant_id)?.totals.costs.find((c) => c.currency === budget.currency)?.micros ?? 0;
  }

  #key(budget: BudgetRow, period: BillingPeriod): string {
    return `${this.#options.keyPrefix}budget:{${budget.tenant_id}}:${budget.api_key_id || '*'}:${period.id}`;
  }

  #applying(tenantId: string, apiKeyId: string | null): BudgetRow[] {
    return (this.#byTenant.get(tenantId) ?? []).filter((b) => b.api_key_id === '' || b.api_key_id === apiKeyId);
  }

  async #reloadTenant(tenantId: string): Promise<void> {
    const budgets = await findBudgets(this.#options.db, tenantId);
    if (budgets.length > 0) this.#byTenant.set(tenantId, budgets);
    else this.#byTenant.delete(tenantId);
  }

  async #changed(tenantId: string): Promise<void> {
    await this.#reloadTenant(tenantId);
    await this.#options.broadcast.publish(changedTopic, tenantId).catch((error: unknown) => this.#options.logger.warn({ err: error, tenantId }, 'could not announce a budget change'));
  }

  #view(budget: BudgetRow, period: BillingPeriod, spentMicros: number, threshold: number | null): BudgetView {
    return {
      tenantId: budget.tenant_id,
      apiKeyId: budget.api_key_id || null,
      period,
      currency: budget.currency,
      limitMicros: Number(decimalToMicros(budget.monthly_limit)),
      spentMicros,
      alertThresholds: budget.alert_thresholds,
      hardStop: budget.hard_stop,
      threshold,
    };
  }
}
