import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../database.ts';
import type { KeysetPage } from '../../shared/keyset-page.ts';
import { applyKeyset } from '../../storage/keyset.ts';
import type { NewTenant, TenantRow, TenantUpdate } from './tenant.table.ts';

type Db = Kysely<Database> | Transaction<Database>;

export function insertTenant(db: Db, tenant: NewTenant): Promise<TenantRow> {
  return db.insertInto('tenant').values(tenant).returningAll().executeTakeFirstOrThrow();
}

export function findTenantById(db: Db, id: string): Promise<TenantRow | undefined> {
  return db.selectFrom('tenant').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findTenantsByIds(db: Db, ids: readonly string[]): Promise<TenantRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('tenant').selectAll().where('id', 'in', ids).execute();
}

export function listTenants(db: Db, page: KeysetPage): Promise<TenantRow[]> {
  return applyKeyset(db.selectFrom('tenant').selectAll(), 'tenant', page).execute();
}

export function updateTenant(db: Db, id: string, changes: TenantUpdate): Promise<TenantRow | undefined> {
  return db.updateTable('tenant').set({ ...changes, updated_at: new Date() }).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function listTenantIdsOnPlan(db: Db, planId: string): Promise<string[]> {
  const rows = await db.selectFrom('tenant').select('id').where('plan_id', '=', planId).execute();
  return rows.map((row) => row.id);
}
