import { badInput } from '../../shared/errors.ts';
import type { SqlDatabase } from '../../storage/sql-database.ts';
import { requireAuthenticated, requireTenantAdmin } from '../identity/index.ts';
import { describeActor, type Principal } from '../identity/index.ts';
import { insertAuditEntry, pageAuditEntries } from './audit.repository.ts';
import type { AuditLogRow } from './audit.table.ts';

/** Who changed what, written in the same transaction as the change so neither exists without the other. */
export async function recordAudit(
  db: SqlDatabase | Parameters<typeof insertAuditEntry>[0],
  actor: { principal: Principal; requestId: string | null },
  change: { tenantId: string | null; action: string; target: string | null; details?: Record<string, unknown> },
): Promise<void> {
  const { type, id } = describeActor(actor.principal);
  await insertAuditEntry(db, { ...change, actorType: type, actorId: id, requestId: actor.requestId });
}

/** A page of the audit log as Pothos' resolveCursorConnection asks for it, cursors still encoded. */
export interface AuditPageArgs {
  limit: number;
  after?: string | null;
  before?: string | null;
  inverted: boolean;
}

export const encodeAuditCursor = (row: AuditLogRow) => Buffer.from(`audit:${String(row.id)}`).toString('base64url');

function decodeAuditCursor(cursor: string | null | undefined): string | undefined {
  if (!cursor) return undefined;
  const match = /^audit:(\d{1,19})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match?.[1]) throw badInput(`"${cursor}" is not a cursor from the audit log`);
  return match[1];
}

export class AuditService {
  readonly #db: SqlDatabase;
  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  /**
   * Newest first. The platform reads any tenant's entries, or all of them (platform-wide ones
   * included) without a tenant; a tenant's admins read only their own tenant's.
   */
  list(principal: Principal, tenantId: string | null | undefined, page: AuditPageArgs): Promise<AuditLogRow[]> {
    const caller = requireAuthenticated(principal);
    const scope = tenantId ?? caller.tenantId;
    if (caller.kind !== 'platform') requireTenantAdmin(caller, tenantId ?? caller.tenantId);
    return pageAuditEntries(this.#db, {
      tenantId: scope,
      limit: page.limit,
      after: decodeAuditCursor(page.after),
      before: decodeAuditCursor(page.before),
      inverted: page.inverted,
    });
  }
}
