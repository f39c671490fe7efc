import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../database.ts';
import type { PlanRow } from '../plan/index.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** A tenant's current plan and every plan by id (a month may have been billed under several). */
export async function findTenantWithPlans(db: Db, tenantId: string): Promise<{ plan: PlanRow; plans: Map<string, PlanRow> } | undefined> {
  const [tenant, plans] = await Promise.all([
    db.selectFrom('tenant').select('plan_id').where('id', '=', tenantId).executeTakeFirst(),
    db.selectFrom('plan').selectAll().execute(),
  ]);
  if (!tenant) return undefined;
  const byId = new Map(plans.map((plan) => [plan.id, plan]));
  const plan = byId.get(tenant.plan_id);
  return plan ? { plan, plans: byId } : undefined;
}

export interface PlanChange {
  at: Date;
  from: string;
  to: string;
}

/** The tenant's plan changes since `since`, oldest first, from the audit log (setTenantPlan records each). */
export async function findPlanChanges(db: Db, tenantId: string, since: Date): Promise<PlanChange[]> {
  const rows = await db
    .selectFrom('audit_log')
    .select(['created_at', 'details'])
    .where('tenant_id', '=', tenantId)
    .where('action', '=', 'tenant.set_plan')
    .where('created_at', '>=', since)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.flatMap((row) => {
    const { from, to } = row.details as { from?: unknown; to?: unknown };
    return typeof from === 'string' && typeof to === 'string' ? [{ at: row.created_at, from, to }] : [];
  });
}
