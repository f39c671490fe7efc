import type { SqlDatabase } from '../../storage/sql-database.ts';
import { describeActor, type Principal } from '../auth/principal.ts';
import { insertAuditEntry } from './audit.repository.ts';

/** Who changed what, written in the same transaction as the change so neither exists without the other. */
export async function recordAudit(
  db: SqlDatabase | Parameters<typeof insertAuditEntry>[0],
  actor: { principal: Principal; requestId: string | null },
  change: { tenantId: string | null; action: string; target: string | null; details?: Record<string, unknown> },
): Promise<void> {
  const { type, id } = describeActor(actor.principal);
  await insertAuditEntry(db, { ...change, actorType: type, actorId: id, requestId: actor.requestId });
}
