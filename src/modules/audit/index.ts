// The audit module's door: what other modules and the app may use. Everything else in the folder is private.
export { insertAuditEntry } from './audit.repository.ts';
export { AuditService, recordAudit } from './audit.service.ts';
export type { AuditLogTable } from './audit.table.ts';
