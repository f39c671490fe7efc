import { builder } from '../../builder.ts';
import type { Principal } from '../identity/index.ts';

const ViewerKind = builder.enumType('ViewerKind', {
  values: {
    ANONYMOUS: { value: 'anonymous' },
    PLATFORM_ADMIN: { value: 'platform' },
    API_KEY: { value: 'api-key' },
    USER: { value: 'user' },
  } as const,
});

export const ViewerRef = builder.objectRef<Principal>('Viewer');

ViewerRef.implement({
  description: 'Who the current credentials belong to.',
  fields: (t) => ({
    kind: t.field({ type: ViewerKind, resolve: (p) => p.kind }),
    tenantId: t.id({ nullable: true, resolve: (p) => (p.kind === 'anonymous' ? null : (p.tenantId ?? null)) }),
    userId: t.string({ nullable: true, resolve: (p) => (p.kind === 'anonymous' ? null : (p.userId ?? null)) }),
    apiKeyId: t.id({ nullable: true, resolve: (p) => (p.kind === 'api-key' ? p.keyId : null) }),
    role: t.string({ nullable: true, resolve: (p) => (p.kind === 'user' ? p.role : p.kind === 'platform' ? 'platform' : null) }),
    scopes: t.stringList({ resolve: (p) => (p.kind === 'api-key' ? [...p.scopes] : []) }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({ type: ViewerRef, description: 'The caller, as the gateway sees it.', resolve: (_root, _args, ctx) => ctx.principal }),
);
