import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../database.ts';
import type { PlanRow, PlanUpdate } from './plan.table.ts';

type Db = Kysely<Database> | Transaction<Database>;

export function listPlans(db: Db): Promise<PlanRow[]> {
  return db.selectFrom('plan').selectAll().orderBy('monthly_price').orderBy('id').execute();
}

export async function findPlansByIds(db: Db, ids: readonly string[]): Promise<PlanRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('plan').selectAll().where('id', 'in', ids).execute();
}

export function updatePlan(db: Db, id: string, changes: PlanUpdate): Promise<PlanRow | undefined> {
  return db
    .updateTable('plan')
    .set({ ...changes, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}
