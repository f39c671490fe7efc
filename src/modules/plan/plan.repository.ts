import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../database.ts';
import type { NewPlan, NewPlanPrice, PlanPriceRow, PlanRow, PlanUpdate } from './plan.table.ts';

type Db = Kysely<Database> | Transaction<Database>;

export function listPlans(db: Db, options: { includeRetired: boolean }): Promise<PlanRow[]> {
  let query = db.selectFrom('plan').selectAll();
  if (!options.includeRetired) query = query.where('retired_at', 'is', null);
  return query.orderBy('id').execute();
}

export async function findPlansByIds(db: Db, ids: readonly string[]): Promise<PlanRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('plan').selectAll().where('id', 'in', ids).execute();
}

export function insertPlan(db: Db, plan: NewPlan): Promise<PlanRow> {
  return db.insertInto('plan').values(plan).returningAll().executeTakeFirstOrThrow();
}

export function updatePlan(db: Db, id: string, changes: PlanUpdate): Promise<PlanRow | undefined> {
  return db
    .updateTable('plan')
    .set({ ...changes, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/** Every price version of the plans, per plan oldest first. */
export async function findPlanPrices(db: Db, planIds: readonly string[]): Promise<PlanPriceRow[]> {
  if (planIds.length === 0) return [];
  return db.selectFrom('plan_price').selectAll().where('plan_id', 'in', planIds).orderBy('plan_id').orderBy('effective_from').execute();
}

/** A new version; one scheduled for the same instant is replaced (it has not taken effect yet). */
export function upsertPlanPrice(db: Db, version: NewPlanPrice): Promise<PlanPriceRow> {
  return db
    .insertInto('plan_price')
    .values(version)
    .onConflict((c) =>
      c.columns(['plan_id', 'effective_from']).doUpdateSet((eb) => ({
        currency: eb.ref('excluded.currency'),
        monthly_price: eb.ref('excluded.monthly_price'),
        overage_tiers: eb.ref('excluded.overage_tiers'),
        created_at: eb.ref('excluded.created_at'),
      })),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}
