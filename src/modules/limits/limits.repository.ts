import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../database.ts';
import type { PlanRow } from '../plan/index.ts';
import type { LimitOverrideRow } from './limit-override.table.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface RateLimitValues {
  requests_per_minute: number | null;
  tokens_per_minute: number | null;
  concurrent_requests: number | null;
}

/** A tenant with its plan and the overrides that apply to one caller (tenant-wide, and its key's). */
export interface LimitsRecord {
  tenantId: string;
  plan: PlanRow;
  tenantOverride: LimitOverrideRow | undefined;
  keyOverride: LimitOverrideRow | undefined;
}

/** One statement: the tenant's plan and both override rows (tenant-wide is api_key_id ''). */
export async function loadLimitsRecord(db: Db, tenantId: string, apiKeyId: string | null): Promise<LimitsRecord | undefined> {
  const [tenant, overrides] = await Promise.all([
    db.selectFrom('tenant').innerJoin('plan', 'plan.id', 'tenant.plan_id').selectAll('plan').where('tenant.id', '=', tenantId).executeTakeFirst(),
    db
      .selectFrom('limit_override')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('api_key_id', 'in', apiKeyId ? ['', apiKeyId] : [''])
      .execute(),
  ]);
  if (!tenant) return undefined;
  return {
    tenantId,
    plan: tenant,
    tenantOverride: overrides.find((row) => row.api_key_id === ''),
    keyOverride: apiKeyId ? overrides.find((row) => row.api_key_id === apiKeyId) : undefined,
  };
}

export function listOverrides(db: Db, tenantId: string): Promise<LimitOverrideRow[]> {
  return db.selectFrom('limit_override').selectAll().where('tenant_id', '=', tenantId).orderBy('api_key_id').execute();
}

/** Sets an override row; a row whose every value is null is removed (the plan applies again). */
export async function saveOverride(db: Db, tenantId: string, apiKeyId: string, values: RateLimitValues): Promise<LimitOverrideRow | undefined> {
  if (values.requests_per_minute === null && values.tokens_per_minute === null && values.concurrent_requests === null) {
    await db.deleteFrom('limit_override').where('tenant_id', '=', tenantId).where('api_key_id', '=', apiKeyId).execute();
    return undefined;
  }
  const updatedAt = new Date();
  return db
    .insertInto('limit_override')
    .values({ tenant_id: tenantId, api_key_id: apiKeyId, ...values, updated_at: updatedAt })
    .onConflict((oc) => oc.columns(['tenant_id', 'api_key_id']).doUpdateSet({ ...values, updated_at: updatedAt }))
    .returningAll()
    .executeTakeFirstOrThrow();
}
