import { resolveCursorConnection } from '@pothos/plugin-relay';
import { builder } from '../../builder.ts';
import { encodeAuditCursor } from './audit.service.ts';
import type { AuditLogRow } from './audit.table.ts';

const AuditLogEntryRef = builder.objectRef<AuditLogRow>('AuditLogEntry');

AuditLogEntryRef.implement({
  description: 'One change to the control plane: who made it, to what, and when.',
  fields: (t) => ({
    id: t.id({ resolve: (row) => String(row.id) }),
    at: t.expose('created_at', { type: 'DateTime' }),
    tenantId: t.id({ nullable: true, resolve: (row) => row.tenant_id, description: 'Null for platform-wide changes.' }),
    actorType: t.exposeString('actor_type', { description: 'platform, api-key, user or cli.' }),
    actorId: t.exposeString('actor_id', { description: 'The user id, the API key id, or "admin-key".' }),
    action: t.exposeString('action', { description: 'What was done, e.g. tenant.create, provider_credential.set.' }),
    target: t.exposeString('target', { nullable: true, description: 'The id or name of what changed.' }),
    details: t.string({ description: 'What changed, as a JSON object. Never holds secrets.', resolve: (row) => JSON.stringify(row.details) }),
    requestId: t.exposeString('request_id', { nullable: true }),
  }),
});

builder.queryField('auditLog', (t) =>
  t.connection({
    type: AuditLogEntryRef,
    args: { tenantId: t.arg.id({ description: 'The platform admin may leave it out to see every tenant.' }) },
    description:
      "Control-plane changes, newest first. The platform admin reads any tenant's (or all); a tenant's admins read their own tenant's. `first` is capped at 100.",
    resolve: (_root, args, ctx) =>
      resolveCursorConnection<Promise<AuditLogRow[]>>({ args, toCursor: encodeAuditCursor }, (page) =>
        ctx.deps.services.audit.list(ctx.principal, args.tenantId, page),
      ),
  }, { name: 'AuditLogEntryConnection' }, { name: 'AuditLogEntryEdge' }),
);
