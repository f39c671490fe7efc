import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../database.ts';
import type { ConsoleSessionRow, NewConsoleSession } from './console-session.table.ts';

type Db = Kysely<Database> | Transaction<Database>;

export async function insertConsoleSession(db: Db, session: NewConsoleSession): Promise<void> {
  await db.insertInto('console_session').values(session).execute();
}

export function findConsoleSession(db: Db, id: string): Promise<ConsoleSessionRow | undefined> {
  return db.selectFrom('console_session').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function markConsoleSessionRevoked(db: Db, id: string, at: Date): Promise<void> {
  await db.updateTable('console_session').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
}

/** After an SSO refresh: the session's new end, identity and refresh token. */
export async function updateConsoleSessionAfterRefresh(
  db: Db,
  id: string,
  update: { expiresAt: Date; tenantId: string; userId: string; role: string; refreshToken: string },
): Promise<void> {
  await db
    .updateTable('console_session')
    .set({ expires_at: update.expiresAt, tenant_id: update.tenantId, user_id: update.userId, role: update.role, sso_refresh_token: update.refreshToken })
    .where('id', '=', id)
    .execute();
}
