import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../database.ts';
import type { AuditLogRow } from './audit.table.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface AuditEntry {
  tenantId: string | null;
  actorType: string;
  actorId: string;
  action: string;
  target: string | null;
  details?: Record<string, unknown>;
  requestId: string | null;
}

export async function insertAuditEntry(db: Db, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      tenant_id: entry.tenantId,
      actor_type: entry.actorType,
      actor_id: entry.actorId,
      action: entry.action,
      target: entry.target,
      details: JSON.stringify(entry.details ?? {}),
      request_id: entry.requestId,
    })
    .execute();
}

export function listAuditEntries(db: Db, options: { tenantId?: string; limit: number; beforeId?: string }): Promise<AuditLogRow[]> {
  let query = db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(options.limit);
  if (options.tenantId !== undefined) query = query.where('tenant_id', '=', options.tenantId);
  if (options.beforeId !== undefined) query = query.where('id', '<', options.beforeId);
  return query.execute();
}

/** Newest first; `after`/`before` are ids from earlier pages; `inverted` pages backwards (oldest first). */
export function pageAuditEntries(
  db: Db,
  options: { tenantId: string | undefined; limit: number; after: string | undefined; before: string | undefined; inverted: boolean },
): Promise<AuditLogRow[]> {
  let query = db.selectFrom('audit_log').selectAll();
  if (options.tenantId !== undefined) query = query.where('tenant_id', '=', options.tenantId);
  if (options.after !== undefined) query = query.where('id', '<', options.after);
  if (options.before !== undefined) query = query.where('id', '>', options.before);
  return query.orderBy('id', options.inverted ? 'asc' : 'desc').limit(options.limit).execute();
}
