import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../../database.ts';
import type { KeysetPage } from '../../shared/keyset-page.ts';
import { applyKeyset } from '../../storage/keyset.ts';
import type { ApiKeyRow, NewApiKey } from './api-key.table.ts';

type Db = Kysely<Database> | Transaction<Database>;

export function insertApiKey(db: Db, key: NewApiKey): Promise<ApiKeyRow> {
  return db.insertInto('api_key').values(key).returningAll().executeTakeFirstOrThrow();
}

export function findApiKeyById(db: Db, id: string): Promise<ApiKeyRow | undefined> {
  return db.selectFrom('api_key').selectAll().where('id', '=', id).executeTakeFirst();
}

export function listApiKeysOfTenant(db: Db, tenantId: string, page: KeysetPage): Promise<ApiKeyRow[]> {
  return applyKeyset(db.selectFrom('api_key').selectAll().where('tenant_id', '=', tenantId), 'api_key', page).execute();
}

/** Revokes once: a second call leaves the first revocation time in place and returns undefined. */
export function markApiKeyRevoked(db: Db, id: string, at: Date): Promise<ApiKeyRow | undefined> {
  return db
    .updateTable('api_key')
    .set({ revoked_at: at })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

export function replaceApiKeySecret(
  db: Db,
  id: string,
  secret: { secretHash: string; previousSecretHash: string; previousValidUntil: Date },
): Promise<ApiKeyRow | undefined> {
  return db
    .updateTable('api_key')
    .set({ secret_hash: secret.secretHash, previous_secret_hash: secret.previousSecretHash, previous_valid_until: secret.previousValidUntil })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/** Records many keys' last use in one statement; a time never moves backwards. */
export async function recordApiKeysLastUsed(db: Db, usedAt: ReadonlyMap<string, Date>): Promise<void> {
  if (usedAt.size === 0) return;
  const rows = [...usedAt].map(([id, at]) => sql`(${id}, cast(${at} as timestamptz))`);
  await sql`
    update api_key as k set last_used_at = v.used_at
    from (values ${sql.join(rows)}) as v(id, used_at)
    where k.id = v.id and (k.last_used_at is null or k.last_used_at < v.used_at)
  `.execute(db);
}
