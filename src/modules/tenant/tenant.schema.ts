import { resolveCursorConnection } from '@pothos/plugin-relay';
import { builder } from '../../builder.ts';
import { encodeCursor, keysetPage } from '../../shared/keyset-page.ts';
import { PlanRef } from '../plan/plan.schema.ts';
import type { TenantRow } from './tenant.table.ts';

export const TenantRef = builder.objectRef<TenantRow>('Tenant');

TenantRef.implement({
  description: 'A customer of the platform: its plan, keys, configuration and usage.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    status: t.exposeString('status', { description: '"active", or "suspended" by the platform (every key and session refused).' }),
    createdAt: t.expose('created_at', { type: 'DateTime' }),
    plan: t.field({
      type: PlanRef,
      resolve: async (tenant, _args, ctx) => {
        const plan = await ctx.loaders.plan.load(tenant.plan_id);
        if (!plan) throw new Error(`tenant ${tenant.id} references missing plan ${tenant.plan_id}`);
        return plan;
      },
    }),
  }),
});

builder.queryField('tenant', (t) =>
  t.field({
    type: TenantRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    description: "A tenant by id: the platform sees any; a tenant's own credentials see only their tenant.",
    resolve: (_root, args, ctx) => ctx.deps.services.tenants.get(ctx.principal, args.id),
  }),
);

builder.queryField('tenants', (t) =>
  t.connection(
    {
      type: TenantRef,
      description: 'Every tenant, oldest first (platform admin only). `first` is capped at 100.',
      resolve: (_root, args, ctx) =>
        resolveCursorConnection<Promise<TenantRow[]>>({ args, toCursor: encodeCursor }, (page) =>
          ctx.deps.services.tenants.list(ctx.principal, keysetPage(page)),
        ),
    },
    { name: 'TenantConnection' },
    { name: 'TenantEdge' },
  ),
);

const CreateTenantInput = builder.inputType('CreateTenantInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    plan: t.string({ description: 'Plan id: free (default), starter, pro or enterprise.' }),
  }),
});

const CreateTenantPayload = builder.objectRef<{ tenant: TenantRow }>('CreateTenantPayload');
CreateTenantPayload.implement({ fields: (t) => ({ tenant: t.field({ type: TenantRef, resolve: (payload) => payload.tenant }) }) });

builder.mutationField('createTenant', (t) =>
  t.field({
    type: CreateTenantPayload,
    args: { input: t.arg({ type: CreateTenantInput, required: true }) },
    description: 'Platform admin only.',
    resolve: async (_root, { input }, ctx) => ({
      tenant: await ctx.deps.services.tenants.create(ctx, { name: input.name, plan: input.plan }),
    }),
  }),
);

const UpdateTenantInput = builder.inputType('UpdateTenantInput', {
  fields: (t) => ({ id: t.id({ required: true }), name: t.string({ required: true }) }),
});

builder.mutationField('updateTenant', (t) =>
  t.field({
    type: CreateTenantPayload,
    args: { input: t.arg({ type: UpdateTenantInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ tenant: await ctx.deps.services.tenants.rename(ctx, input.id, input.name) }),
  }),
);

builder.mutationField('setTenantPlan', (t) =>
  t.field({
    type: CreateTenantPayload,
    args: { tenantId: t.arg.id({ required: true }), plan: t.arg.string({ required: true }) },
    description: 'Platform admin only; the new limits apply to the next request.',
    resolve: async (_root, args, ctx) => ({ tenant: await ctx.deps.services.tenants.setPlan(ctx, args.tenantId, args.plan) }),
  }),
);

const TenantStatusPayload = builder.objectRef<{ tenant: TenantRow }>('TenantStatusPayload');
TenantStatusPayload.implement({ fields: (t) => ({ tenant: t.field({ type: TenantRef, resolve: (payload) => payload.tenant }) }) });

builder.mutationField('suspendTenant', (t) =>
  t.field({
    type: TenantStatusPayload,
    args: { id: t.arg.id({ required: true }) },
    description:
      'Platform admin only. The tenant\'s status becomes "suspended": its API keys and sessions are refused on every instance (403 tenant_suspended on /v1, FORBIDDEN here) and its open WebSockets closed; requests in flight finish and are metered. Audit-logged.',
    resolve: async (_root, args, ctx) => ({ tenant: await ctx.deps.services.tenants.suspend(ctx, args.id) }),
  }),
);

builder.mutationField('reactivateTenant', (t) =>
  t.field({
    type: TenantStatusPayload,
    args: { id: t.arg.id({ required: true }) },
    description: 'Platform admin only. The tenant\'s status becomes "active" again on every instance. Audit-logged.',
    resolve: async (_root, args, ctx) => ({ tenant: await ctx.deps.services.tenants.reactivate(ctx, args.id) }),
  }),
);
