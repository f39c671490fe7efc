import { badInput, notFound } from '../../shared/errors.ts';
import type { SqlDatabase } from '../../storage/sql-database.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { requirePlatformAdmin } from '../auth/access.ts';
import type { Principal } from '../auth/principal.ts';
import { decimalToMicros } from '../pricing/money.ts';
import { findPlansByIds, updatePlan } from './plan.repository.ts';
import type { PlanRow, PlanUpdate } from './plan.table.ts';

/** Omitted fields stay as they are; null clears an optional cap. */
export interface UpdatePlanInput {
  id: string;
  name?: string | null;
  currency?: string | null;
  monthlyPrice?: string | null;
  monthlyTokens?: number | null;
  requestsPerMinute?: number | null;
  tokensPerMinute?: number | null;
  requestsPerHour?: number | null;
  requestsPerMonth?: number | null;
  concurrentRequests?: number | null;
  hardQuota?: boolean | null;
  overagePerMillion?: string | null;
}

const MAX_COUNT = 2_000_000_000;

function count(field: string, value: number, optional: boolean): number {
  if (!Number.isInteger(value) || value < (optional ? 1 : 0) || value > MAX_COUNT) {
    throw badInput(`${field} must be a whole number from ${optional ? 1 : 0} to ${MAX_COUNT}`, { field });
  }
  return value;
}

function money(field: string, value: string, decimals: number): string {
  if (!new RegExp(`^\\d{1,9}(\\.\\d{1,${decimals}})?$`).test(value)) {
    throw badInput(`${field} must be a decimal string with at most ${decimals} decimals, e.g. "39.00"`, { field });
  }
  decimalToMicros(value);
  return value;
}

/** The platform's plan catalogue: prices, included tokens and limits, edited by the platform admin only. */
export class PlanService {
  readonly #db: SqlDatabase;
  readonly #onChanged: (planId: string) => void;

  constructor(db: SqlDatabase, onChanged: (planId: string) => void = () => {}) {
    this.#db = db;
    this.#onChanged = onChanged;
  }

  async update(actor: { principal: Principal; requestId: string }, input: UpdatePlanInput): Promise<PlanRow> {
    requirePlatformAdmin(actor.principal);
    const changes = planChanges(input);
    const plan = await this.#db.transaction().execute(async (trx) => {
      const [before] = await findPlansByIds(trx, [input.id]);
      if (!before) throw notFound('plan', input.id);
      if (Object.keys(changes).length === 0) return before;
      const after = (await updatePlan(trx, input.id, changes)) ?? before;
      await recordAudit(trx, actor, { tenantId: null, action: 'plan.update', target: input.id, details: { changes } });
      return after;
    });
    // Tenants on this plan are held to the new limits from their next request.
    this.#onChanged(input.id);
    return plan;
  }
}

function planChanges(input: UpdatePlanInput): PlanUpdate {
  const changes: PlanUpdate = {};
  if (input.name != null) {
    const name = input.name.trim();
    if (name.length === 0 || name.length > 100) throw badInput('name must be 1 to 100 characters', { field: 'name' });
    changes.name = name;
  }
  if (input.currency != null) {
    if (!/^[A-Z]{3}$/.test(input.currency)) throw badInput('currency must be an ISO 4217 code such as GBP', { field: 'currency' });
    changes.currency = input.currency;
  }
  if (input.monthlyPrice != null) changes.monthly_price = money('monthlyPrice', input.monthlyPrice, 2);
  if (input.overagePerMillion != null) changes.overage_per_million = money('overagePerMillion', input.overagePerMillion, 6);
  if (input.monthlyTokens != null) changes.monthly_tokens = count('monthlyTokens', input.monthlyTokens, false);
  if (input.requestsPerMinute != null) changes.requests_per_minute = count('requestsPerMinute', input.requestsPerMinute, true);
  if (input.tokensPerMinute != null) changes.tokens_per_minute = count('tokensPerMinute', input.tokensPerMinute, true);
  if (input.hardQuota != null) changes.hard_quota = input.hardQuota;
  for (const [field, column] of [
    ['requestsPerHour', 'requests_per_hour'],
    ['requestsPerMonth', 'requests_per_month'],
    ['concurrentRequests', 'concurrent_requests'],
  ] as const) {
    const value = input[field];
    if (value === null) changes[column] = null;
    else if (value !== undefined) changes[column] = count(field, value, true);
  }
  return changes;
}
