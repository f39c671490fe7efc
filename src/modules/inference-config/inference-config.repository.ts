import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../database.ts';
import type { SealedSecret } from '../../shared/secret-box.ts';
import type { InferenceConfigRow, NewInferenceConfig, NewProviderCredential, ProviderCredentialRow } from './inference-config.table.ts';

type Db = Kysely<Database> | Transaction<Database>;

export function findInferenceConfig(db: Db, tenantId: string): Promise<InferenceConfigRow | undefined> {
  return db.selectFrom('inference_config').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
}

export function upsertInferenceConfig(db: Db, row: NewInferenceConfig): Promise<InferenceConfigRow> {
  const updatedAt = new Date();
  return db
    .insertInto('inference_config')
    .values({ ...row, updated_at: updatedAt })
    .onConflict((oc) =>
      oc.column('tenant_id').doUpdateSet({
        preferred_provider: row.preferred_provider,
        auto_failover: row.auto_failover,
        model_overrides: row.model_overrides,
        allowed_models: row.allowed_models,
        cache_enabled: row.cache_enabled,
        updated_at: updatedAt,
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function listProviderCredentials(db: Db, tenantId: string): Promise<ProviderCredentialRow[]> {
  return db.selectFrom('provider_credential').selectAll().where('tenant_id', '=', tenantId).orderBy('provider').execute();
}

export function findProviderCredential(db: Db, tenantId: string, provider: string): Promise<ProviderCredentialRow | undefined> {
  return db.selectFrom('provider_credential').selectAll().where('tenant_id', '=', tenantId).where('provider', '=', provider).executeTakeFirst();
}

export function upsertProviderCredential(db: Db, row: NewProviderCredential): Promise<ProviderCredentialRow> {
  const updatedAt = new Date();
  return db
    .insertInto('provider_credential')
    .values({ ...row, updated_at: updatedAt })
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'provider']).doUpdateSet({
        key_id: row.key_id,
        nonce: row.nonce,
        ciphertext: row.ciphertext,
        last4: row.last4,
        updated_at: updatedAt,
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteProviderCredential(db: Db, tenantId: string, provider: string): Promise<boolean> {
  const deleted = await db
    .deleteFrom('provider_credential')
    .where('tenant_id', '=', tenantId)
    .where('provider', '=', provider)
    .returning('provider')
    .executeTakeFirst();
  return deleted !== undefined;
}

/** Credentials not sealed with `keyId`, in (tenant, provider) order after `after`, for re-encryption in batches. */
export function listCredentialsSealedWithOtherKeys(
  db: Db,
  keyId: string,
  limit: number,
  after: { tenantId: string; provider: string } | undefined,
): Promise<ProviderCredentialRow[]> {
  let query = db.selectFrom('provider_credential').selectAll().where('key_id', '<>', keyId);
  if (after) {
    query = query.where((eb) =>
      eb.or([eb('tenant_id', '>', after.tenantId), eb.and([eb('tenant_id', '=', after.tenantId), eb('provider', '>', after.provider)])]),
    );
  }
  return query.orderBy('tenant_id').orderBy('provider').limit(limit).execute();
}

/**
 * Replaces a credential's seal only if the row still holds the one that was read, so a key set
 * concurrently is never overwritten by the re-encryption of its predecessor.
 */
export async function resealProviderCredential(db: Db, row: ProviderCredentialRow, sealed: SealedSecret): Promise<boolean> {
  const result = await db
    .updateTable('provider_credential')
    .set({ key_id: sealed.keyId, nonce: sealed.nonce, ciphertext: sealed.ciphertext })
    .where('tenant_id', '=', row.tenant_id)
    .where('provider', '=', row.provider)
    .where('key_id', '=', row.key_id)
    .where('nonce', '=', row.nonce)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** How many credentials each key sealed, for the start-up check and `tollgate secrets rotate`. */
export async function countCredentialsByKeyId(db: Db): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('provider_credential')
    .select(['key_id', (eb) => eb.fn.countAll<number>().as('count')])
    .groupBy('key_id')
    .execute();
  return new Map(rows.map((row) => [row.key_id, Number(row.count)]));
}
