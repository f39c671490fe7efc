import { resolveCursorConnection } from '@pothos/plugin-relay';
import { builder } from '../../builder.ts';
import { encodeCursor, keysetPage } from '../../shared/keyset-page.ts';
import { TenantRef } from '../tenant/tenant.schema.ts';
import { isApiKeyScope } from './api-key-scopes.ts';
import { apiKeyPrefix } from './api-key-secret.ts';
import { apiKeyStatus } from './api-key-status.ts';
import { maxRotationGraceSeconds, type ApiKeyWithSecret } from './api-key.service.ts';
import type { ApiKeyRow } from './api-key.table.ts';

export const ApiKeyScopeEnum = builder.enumType('ApiKeyScope', {
  description: 'What an API key may do.',
  values: {
    INFERENCE: { value: 'inference', description: 'Call models: /v1 and the completion operations.' },
    USAGE_READ: { value: 'usage:read', description: "Read the tenant's usage and quota." },
    ADMIN: { value: 'admin', description: "Manage the tenant's API keys and configuration." },
  } as const,
});

const ApiKeyStatusEnum = builder.enumType('ApiKeyStatus', {
  values: {
    ACTIVE: { value: 'active' },
    EXPIRED: { value: 'expired' },
    REVOKED: { value: 'revoked' },
  } as const,
});

export const ApiKeyRef = builder.objectRef<ApiKeyRow>('ApiKey');

ApiKeyRef.implement({
  description: "A tenant's API key. Its secret is shown once, when it is created or rotated, and never stored.",
  fields: (t) => ({
    id: t.exposeID('id'),
    prefix: t.string({ description: 'The public start of the secret, `tg_<id>`, to recognise a key by.', resolve: (key) => apiKeyPrefix(key.id) }),
    name: t.exposeString('name'),
    tenantId: t.exposeID('tenant_id'),
    scopes: t.field({ type: [ApiKeyScopeEnum], resolve: (key) => key.scopes.filter(isApiKeyScope) }),
    status: t.field({ type: ApiKeyStatusEnum, resolve: (key) => apiKeyStatus(key, new Date()) }),
    createdAt: t.expose('created_at', { type: 'DateTime' }),
    expiresAt: t.expose('expires_at', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revoked_at', { type: 'DateTime', nullable: true }),
    lastUsedAt: t.expose('last_used_at', { type: 'DateTime', nullable: true, description: 'Recorded every few seconds, not per request.' }),
    previousSecretValidUntil: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'After a rotation with a grace period: until when the previous secret is still accepted.',
      resolve: (key) => (key.previous_valid_until && key.previous_valid_until.getTime() > Date.now() ? key.previous_valid_until : null),
    }),
  }),
});

builder.objectField(TenantRef, 'apiKeys', (t) =>
  t.connection(
    {
      type: ApiKeyRef,
      description: "The tenant's API keys, oldest first, revoked and expired ones included (tenant admins only). `first` is capped at 100.",
      resolve: (tenant, args, ctx) =>
        resolveCursorConnection<Promise<ApiKeyRow[]>>({ args, toCursor: encodeCursor }, (page) =>
          ctx.deps.services.apiKeys.list(ctx.principal, tenant.id, keysetPage(page)),
        ),
    },
    { name: 'ApiKeyConnection' },
    { name: 'ApiKeyEdge' },
  ),
);

builder.queryField('apiKey', (t) =>
  t.field({
    type: ApiKeyRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    description: "An API key by id (tenant admins only); another tenant's key is NOT_FOUND.",
    resolve: (_root, args, ctx) => ctx.deps.services.apiKeys.get(ctx.principal, args.id),
  }),
);

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  fields: (t) => ({
    tenantId: t.id({ required: true }),
    name: t.string({ required: true, description: 'What the key is for, 1 to 200 characters.' }),
    expiresAt: t.field({ type: 'DateTime', description: 'When the key stops working; never when absent.' }),
    scopes: t.field({ type: [ApiKeyScopeEnum], description: 'Default: INFERENCE and USAGE_READ.' }),
  }),
});

const payloadWithSecret = (name: string, description: string) => {
  const ref = builder.objectRef<ApiKeyWithSecret>(name);
  ref.implement({
    description,
    fields: (t) => ({
      apiKey: t.field({ type: ApiKeyRef, resolve: (payload) => payload.apiKey }),
      secret: t.exposeString('secret', { description: 'The whole secret, `tg_<id>_<secret>`. Shown this once: store it now.' }),
    }),
  });
  return ref;
};

const CreateApiKeyPayload = payloadWithSecret('CreateApiKeyPayload', 'A new key and its secret.');
const RotateApiKeyPayload = payloadWithSecret('RotateApiKeyPayload', 'The key with its new secret.');

const RevokeApiKeyPayload = builder.objectRef<{ apiKey: ApiKeyRow }>('RevokeApiKeyPayload');
RevokeApiKeyPayload.implement({ fields: (t) => ({ apiKey: t.field({ type: ApiKeyRef, resolve: (payload) => payload.apiKey }) }) });

builder.mutationField('createApiKey', (t) =>
  t.field({
    type: CreateApiKeyPayload,
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    description: 'Platform admin, a tenant admin user, or a key with the ADMIN scope of that tenant.',
    resolve: (_root, { input }, ctx) =>
      ctx.deps.services.apiKeys.create(ctx, { tenantId: input.tenantId, name: input.name, expiresAt: input.expiresAt, scopes: input.scopes }),
  }),
);

builder.mutationField('revokeApiKey', (t) =>
  t.field({
    type: RevokeApiKeyPayload,
    args: { id: t.arg.id({ required: true }) },
    description: 'The key is refused on every instance within a second. Revoking twice keeps the first revocation time.',
    resolve: async (_root, args, ctx) => ({ apiKey: await ctx.deps.services.apiKeys.revoke(ctx, args.id) }),
  }),
);

builder.mutationField('rotateApiKey', (t) =>
  t.field({
    type: RotateApiKeyPayload,
    args: {
      id: t.arg.id({ required: true }),
      gracePeriodSeconds: t.arg.int({
        description: `How long the old secret keeps working (0 to ${maxRotationGraceSeconds}); refused at once when absent or 0.`,
      }),
    },
    description: 'Issues a new secret for the key; its id, name, scopes and expiry stay.',
    resolve: (_root, args, ctx) => ctx.deps.services.apiKeys.rotate(ctx, args.id, { gracePeriodSeconds: args.gracePeriodSeconds }),
  }),
);
