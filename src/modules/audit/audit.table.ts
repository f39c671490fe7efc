import type { ColumnType, Generated, Selectable } from 'kysely';

export interface AuditLogTable {
  id: Generated<string>;
  tenant_id: string | null;
  actor_type: string;
  actor_id: string;
  action: string;
  target: string | null;
  details: ColumnType<Record<string, unknown>, string | undefined, never>;
  request_id: string | null;
  created_at: Generated<Date>;
}

export type AuditLogRow = Selectable<AuditLogTable>;
