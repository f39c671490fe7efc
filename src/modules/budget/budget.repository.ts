import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../database.ts';
import type { BudgetRow, NewBudget } from './budget.table.ts';

type Db = Kysely<Database> | Transaction<Database>;

export function findBudgets(db: Db, tenantId: string): Promise<BudgetRow[]> {
  return db.selectFrom('budget').selectAll().where('tenant_id', '=', tenantId).orderBy('api_key_id').execute();
}

export function findAllBudgets(db: Db): Promise<BudgetRow[]> {
  return db.selectFrom('budget').selectAll().execute();
}

export function upsertBudget(db: Db, budget: NewBudget): Promise<BudgetRow> {
  return db
    .insertInto('budget')
    .values(budget)
    .onConflict((c) =>
      c.columns(['tenant_id', 'api_key_id']).doUpdateSet((eb) => ({
        monthly_limit: eb.ref('excluded.monthly_limit'),
        currency: eb.ref('excluded.currency'),
        alert_thresholds: eb.ref('excluded.alert_thresholds'),
        hard_stop: eb.ref('excluded.hard_stop'),
        updated_at: new Date(),
      })),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteBudget(db: Db, tenantId: string, apiKeyId: string): Promise<boolean> {
  const result = await db.deleteFrom('budget').where('tenant_id', '=', tenantId).where('api_key_id', '=', apiKeyId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
