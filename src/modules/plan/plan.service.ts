import { badInput, notFound } from '../../shared/errors.ts';
import type { SqlDatabase } from '../../storage/sql-database.ts';
import { recordAudit } from '../audit/index.ts';
import { requirePlatformAdmin } from '../identity/index.ts';
import type { Principal } from '../identity/index.ts';
import { decimalToMicros } from '../pricing/index.ts';
import { priceInForce } from './plan-price.ts';
import { findPlanPrices, findPlansByIds, insertPlan, listPlans, updatePlan, upsertPlanPrice } from './plan.repository.ts';
import type { PlanPriceRow, PlanRow, PlanUpdate, PriceTier } from './plan.table.ts';

type Actor = { principal: Principal; requestId: string };

/** A plan's price: omitted fields of an update keep the version in force when the new one takes effect. */
export interface PlanPriceInput {
  currency?: string | null;
  monthlyPrice?: string | null;
  /** One rate for every overage token; or give overageTiers. */
  overagePerMillion?: string | null;
  overageTiers?: readonly PriceTier[] | null;
  /** When the new price takes effect: now (default) or later, never earlier. */
  priceEffectiveFrom?: Date | null;
}

/** The caps; null is no cap (for monthlyTokens: unlimited tokens). On update, omitted keeps the value. */
export interface PlanLimitsInput {
  name?: string | null;
  monthlyTokens?: number | null;
  requestsPerMinute?: number | null;
  tokensPerMinute?: number | null;
  requestsPerHour?: number | null;
  requestsPerMonth?: number | null;
  concurrentRequests?: number | null;
  hardQuota?: boolean | null;
}

/** A new plan's price is in force from the start: nothing was served on it before. */
export type CreatePlanInput = PlanLimitsInput & Omit<PlanPriceInput, 'priceEffectiveFrom'> & { id: string };
export type UpdatePlanInput = PlanLimitsInput & PlanPriceInput & { id: string };

const MAX_COUNT = 2_000_000_000;
const SINCE_ALWAYS = new Date(0);
const PLAN_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const capFields = [
  ['monthlyTokens', 'monthly_tokens'],
  ['requestsPerMinute', 'requests_per_minute'],
  ['tokensPerMinute', 'tokens_per_minute'],
  ['requestsPerHour', 'requests_per_hour'],
  ['requestsPerMonth', 'requests_per_month'],
  ['concurrentRequests', 'concurrent_requests'],
] as const;

/** The platform's plan catalogue: prices (as versions in time), included tokens and limits; edited by the platform admin only. */
export class PlanService {
  readonly #db: SqlDatabase;
  readonly #onChanged: (planId: string) => void;
  readonly #now: () => number;

  constructor(db: SqlDatabase, onChanged: (planId: string) => void = () => {}, now: () => number = Date.now) {
    this.#db = db;
    this.#onChanged = onChanged;
    this.#now = now;
  }

  /** Plans on offer, cheapest first by the price in force now; retired ones too for the platform admin when asked. */
  async list(principal: Principal, options: { includeRetired?: boolean | null } = {}): Promise<PlanRow[]> {
    if (options.includeRetired) requirePlatformAdmin(principal);
    const plans = await listPlans(this.#db, { includeRetired: options.includeRetired === true });
    const prices = await findPlanPrices(this.#db, plans.map((plan) => plan.id));
    const now = this.#now();
    const priceOf = (plan: PlanRow) => {
      const version = priceInForce(prices.filter((p) => p.plan_id === plan.id), now);
      return version ? decimalToMicros(version.monthly_price) : 0n;
    };
    return plans.sort((a, b) => {
      const difference = priceOf(a) - priceOf(b);
      return difference === 0n ? a.id.localeCompare(b.id) : difference < 0n ? -1 : 1;
    });
  }

  async create(actor: Actor, input: CreatePlanInput): Promise<PlanRow> {
    requirePlatformAdmin(actor.principal);
    if (!PLAN_ID.test(input.id)) throw badInput('id must be 1 to 63 lowercase letters, digits or dashes, starting with a letter or digit', { field: 'id' });
    if (input.name == null) throw badInput('name is required', { field: 'name' });
    if (input.hardQuota == null) throw badInput('hardQuota is required: true refuses requests past monthlyTokens, false bills them as overage', { field: 'hardQuota' });
    for (const field of ['currency', 'monthlyPrice'] as const) if (input[field] == null) throw badInput(`${field} is required`, { field });
    const limits = planChanges(input);
    checkHardQuota(input.hardQuota, input.monthlyTokens ?? null);
    const price = priceVersion(input, undefined, SINCE_ALWAYS);
    return this.#db.transaction().execute(async (trx) => {
      const [existing] = await findPlansByIds(trx, [input.id]);
      if (existing) throw badInput(`a plan "${input.id}" exists already`, { field: 'id' });
      const plan = await insertPlan(trx, {
        id: input.id,
        name: limits.name!,
        monthly_tokens: null,
        requests_per_minute: null,
        tokens_per_minute: null,
        requests_per_hour: null,
        requests_per_month: null,
        concurrent_requests: null,
        hard_quota: input.hardQuota!,
        ...limits,
      });
      await upsertPlanPrice(trx, { plan_id: plan.id, effective_from: price.effectiveFrom, currency: price.currency, monthly_price: price.monthlyPrice, overage_tiers: JSON.stringify(price.overageTiers) });
      await recordAudit(trx, actor, { tenantId: null, action: 'plan.create', target: plan.id, details: { limits, price } });
      return plan;
    });
  }

  async update(actor: Actor, input: UpdatePlanInput): Promise<PlanRow> {
    requirePlatformAdmin(actor.principal);
    const changes = planChanges(input);
    const priceChanged = input.currency != null || input.monthlyPrice != null || input.overagePerMillion != null || input.overageTiers != null || input.priceEffectiveFrom != null;
    const now = new Date(this.#now());
    const plan = await this.#db.transaction().execute(async (trx) => {
      const [before] = await findPlansByIds(trx, [input.id]);
      if (!before) throw notFound('plan', input.id);
      const monthlyTokens = changes.monthly_tokens !== undefined ? changes.monthly_tokens : before.monthly_tokens;
      checkHardQuota(changes.hard_quota ?? before.hard_quota, monthlyTokens);
      if (priceChanged) {
        const versions = await findPlanPrices(trx, [input.id]);
        const effectiveFrom = input.priceEffectiveFrom ?? now;
        const price = priceVersion(input, priceInForce(versions, effectiveFrom.getTime()), now);
        await upsertPlanPrice(trx, { plan_id: input.id, effective_from: price.effectiveFrom, currency: price.currency, monthly_price: price.monthlyPrice, overage_tiers: JSON.stringify(price.overageTiers) });
        await recordAudit(trx, actor, { tenantId: null, action: 'plan.price', target: input.id, details: { price } });
      }
      if (Object.keys(changes).length === 0) return before;
      const after = (await updatePlan(trx, input.id, changes)) ?? before;
      await recordAudit(trx, actor, { tenantId: null, action: 'plan.update', target: input.id, details: { changes } });
      return after;
    });
    // Tenants on this plan are held to the new limits from their next request.
    if (Object.keys(changes).length > 0) this.#onChanged(input.id);
    return plan;
  }

  /** No new tenant may choose a retired plan; the tenants on it keep it until they move. */
  async retire(actor: Actor, id: string): Promise<PlanRow> {
    requirePlatformAdmin(actor.principal);
    return this.#db.transaction().execute(async (trx) => {
      const [before] = await findPlansByIds(trx, [id]);
      if (!before) throw notFound('plan', id);
      if (before.retired_at) return before;
      const after = (await updatePlan(trx, id, { retired_at: new Date(this.#now()) })) ?? before;
      await recordAudit(trx, actor, { tenantId: null, action: 'plan.retire', target: id, details: {} });
      return after;
    });
  }
}

function count(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_COUNT) {
    throw badInput(`${field} must be a whole number from 1 to ${MAX_COUNT}, or null for no cap`, { field });
  }
  return value;
}

function money(field: string, value: string, decimals: number): string {
  if (!new RegExp(`^\\d{1,9}(\\.\\d{1,${decimals}})?$`).test(value)) {
    throw badInput(`${field} must be a decimal string with at most ${decimals} decimals, e.g. "39.00"`, { field });
  }
  return value;
}

function checkHardQuota(hardQuota: boolean, monthlyTokens: number | null): void {
  if (hardQuota && monthlyTokens === null) throw badInput('hardQuota needs monthlyTokens: there is nothing to stop at with unlimited tokens', { field: 'hardQuota' });
}

function planChanges(input: PlanLimitsInput): PlanUpdate {
  const changes: PlanUpdate = {};
  if (input.name != null) {
    const name = input.name.trim();
    if (name.length === 0 || name.length > 100) throw badInput('name must be 1 to 100 characters', { field: 'name' });
    changes.name = name;
  }
  if (input.hardQuota != null) changes.hard_quota = input.hardQuota;
  for (const [field, column] of capFields) {
    const value = input[field];
    if (value === null) changes[column] = null;
    else if (value !== undefined) changes[column] = count(field, value);
  }
  return changes;
}

export interface PriceVersion {
  effectiveFrom: Date;
  currency: string;
  monthlyPrice: string;
  overageTiers: PriceTier[];
}

/** The new version: the input's fields over the version it follows, checked field by field. */
function priceVersion(input: PlanPriceInput, previous: PlanPriceRow | undefined, now: Date): PriceVersion {
  const effectiveFrom = input.priceEffectiveFrom ?? now;
  if (effectiveFrom.getTime() < now.getTime()) {
    throw badInput('priceEffectiveFrom must be now or later: a price already in force is never rewritten', { field: 'priceEffectiveFrom' });
  }
  const currency = input.currency ?? previous?.currency;
  if (currency == null || !/^[A-Z]{3}$/.test(currency)) throw badInput('currency must be an ISO 4217 code such as GBP', { field: 'currency' });
  const monthlyPrice = input.monthlyPrice != null ? money('monthlyPrice', input.monthlyPrice, 2) : previous?.monthly_price;
  if (monthlyPrice == null) throw badInput('monthlyPrice is required', { field: 'monthlyPrice' });
  if (input.overagePerMillion != null && input.overageTiers != null) throw badInput('give overagePerMillion or overageTiers, not both', { field: 'overageTiers' });
  let overageTiers: PriceTier[];
  if (input.overagePerMillion != null) overageTiers = [{ upToTokens: null, perMillion: money('overagePerMillion', input.overagePerMillion, 6) }];
  else if (input.overageTiers != null) overageTiers = checkTiers(input.overageTiers);
  else overageTiers = previous?.overage_tiers ?? [{ upToTokens: null, perMillion: '0.00' }];
  return { effectiveFrom, currency, monthlyPrice, overageTiers };
}

function checkTiers(tiers: readonly PriceTier[]): PriceTier[] {
  if (tiers.length === 0 || tiers.length > 20) throw badInput('overageTiers must have 1 to 20 tiers', { field: 'overageTiers' });
  let floor = 0;
  return tiers.map((tier, i) => {
    const field = `overageTiers[${i}]`;
    const last = i === tiers.length - 1;
    if (last !== (tier.upToTokens == null)) {
      throw badInput(`${field}.upToTokens must be ${last ? 'null in the last tier (it has no upper bound)' : 'set in every tier but the last'}`, { field: `${field}.upToTokens` });
    }
    if (tier.upToTokens != null) {
      if (!Number.isInteger(tier.upToTokens) || tier.upToTokens <= floor || tier.upToTokens > MAX_COUNT) {
        throw badInput(`${field}.upToTokens must be a whole number above the previous tier's (${floor}) and at most ${MAX_COUNT}`, { field: `${field}.upToTokens` });
      }
      floor = tier.upToTokens;
    }
    return { upToTokens: tier.upToTokens ?? null, perMillion: money(`${field}.perMillion`, tier.perMillion, 6) };
  });
}
