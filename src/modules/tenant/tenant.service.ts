import { badInput, notFound } from '../../shared/errors.ts';
import { randomId } from '../../shared/ids.ts';
import type { KeysetPage } from '../../shared/keyset-page.ts';
import type { SqlDatabase } from '../../storage/sql-database.ts';
import { recordAudit } from '../audit/index.ts';
import { requirePlatformAdmin, requireTenantAdmin, requireTenantRead } from '../identity/index.ts';
import type { Principal } from '../identity/index.ts';
import { findPlansByIds } from '../plan/index.ts';
import { findTenantById, insertTenant, listTenants, updateTenant } from './tenant.repository.ts';
import type { TenantRow } from './tenant.table.ts';

export interface Actor {
  principal: Principal;
  requestId: string;
}

const newTenantId = () => `tnt_${randomId(12)}`;

function validName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > 200) throw badInput('name must be 1 to 200 characters', { field: 'name' });
  return trimmed;
}

export interface TenantServiceHooks {
  /** Told once a tenant's plan change is committed (cached limits are dropped on every instance). */
  planChanged?(tenantId: string): Promise<void>;
  /** Told once a suspension or reactivation is committed (every instance drops what it cached of the tenant). */
  statusChanged?(tenantId: string): Promise<void>;
}

export type TenantStatus = 'active' | 'suspended';

export class TenantService {
  readonly #db: SqlDatabase;
  readonly #hooks: TenantServiceHooks;
  constructor(db: SqlDatabase, hooks: TenantServiceHooks = {}) {
    this.#db = db;
    this.#hooks = hooks;
  }

  async create(actor: Actor, input: { name: string; plan?: string | null }): Promise<TenantRow> {
    requirePlatformAdmin(actor.principal);
    const name = validName(input.name);
    const planId = input.plan ?? 'free';
    return this.#db.transaction().execute(async (trx) => {
      await this.#requirePlan(trx, planId);
      const tenant = await insertTenant(trx, { id: newTenantId(), name, plan_id: planId });
      await recordAudit(trx, actor, { tenantId: tenant.id, action: 'tenant.create', target: tenant.id, details: { name, plan: planId } });
      return tenant;
    });
  }

  async get(principal: Principal, id: string): Promise<TenantRow> {
    requireTenantRead(principal, id);
    const tenant = await findTenantById(this.#db, id);
    if (!tenant) throw notFound('tenant', id);
    return tenant;
  }

  list(principal: Principal, page: KeysetPage): Promise<TenantRow[]> {
    requirePlatformAdmin(principal);
    return listTenants(this.#db, page);
  }

  async rename(actor: Actor, id: string, name: string): Promise<TenantRow> {
    requireTenantAdmin(actor.principal, id);
    const validated = validName(name);
    return this.#db.transaction().execute(async (trx) => {
      const tenant = await updateTenant(trx, id, { name: validated });
      if (!tenant) throw notFound('tenant', id);
      await recordAudit(trx, actor, { tenantId: id, action: 'tenant.update', target: id, details: { name: validated } });
      return tenant;
    });
  }

  /** Plan changes take effect at once: limits are read from the tenant's current plan on every request. */
  async setPlan(actor: Actor, id: string, planId: string): Promise<TenantRow> {
    requirePlatformAdmin(actor.principal);
    const tenant = await this.#db.transaction().execute(async (trx) => {
      const before = await findTenantById(trx, id);
      if (!before) throw notFound('tenant', id);
      if (before.plan_id !== planId) await this.#requirePlan(trx, planId);
      const tenant = await updateTenant(trx, id, { plan_id: planId });
      await recordAudit(trx, actor, { tenantId: id, action: 'tenant.set_plan', target: id, details: { from: before.plan_id, to: planId } });
      return tenant ?? before;
    });
    await this.#hooks.planChanged?.(id);
    return tenant;
  }

  /**
   * Platform admin only. A suspended tenant's keys and sessions are refused on every instance (403
   * tenant_suspended), its open WebSockets closed; requests in flight finish and are metered.
   */
  suspend(actor: Actor, id: string): Promise<TenantRow> {
    return this.#setStatus(actor, id, 'suspended');
  }

  /** Platform admin only: the tenant's keys and sessions are accepted again. */
  reactivate(actor: Actor, id: string): Promise<TenantRow> {
    return this.#setStatus(actor, id, 'active');
  }

  async #setStatus(actor: Actor, id: string, status: TenantStatus): Promise<TenantRow> {
    requirePlatformAdmin(actor.principal);
    const tenant = await this.#db.transaction().execute(async (trx) => {
      const before = await findTenantById(trx, id);
      if (!before) throw notFound('tenant', id);
      if (before.status === status) return before;
      const tenant = await updateTenant(trx, id, { status });
      await recordAudit(trx, actor, { tenantId: id, action: status === 'suspended' ? 'tenant.suspend' : 'tenant.reactivate', target: id, details: { from: before.status, to: status } });
      return tenant ?? before;
    });
    await this.#hooks.statusChanged?.(id);
    return tenant;
  }

  async #requirePlan(db: Parameters<typeof findPlansByIds>[0], planId: string): Promise<void> {
    const [plan] = await findPlansByIds(db, [planId]);
    if (!plan) throw badInput(`unknown plan "${planId}"`, { field: 'plan' });
    if (plan.retired_at) throw badInput(`plan "${planId}" is retired: it keeps its tenants but takes no new ones`, { field: 'plan' });
  }
}
