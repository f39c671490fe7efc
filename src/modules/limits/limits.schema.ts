import { builder } from '../../builder.ts';
import { ApiKeyRef } from '../api-key/api-key.schema.ts';
import { TenantRef } from '../tenant/tenant.schema.ts';
import type { LimitOverrideRow } from './limit-override.table.ts';
import type { EffectiveLimits } from './limits-directory.ts';
import { requireUsageRead } from '../usage/index.ts';
import { tightestWindow, type RateWindow } from './rate-window.ts';

const RateWindowRef = builder.objectRef<RateWindow>('RateWindow');
RateWindowRef.implement({
  description: 'Where one kind of rate limit stands now: the tightest of its windows.',
  fields: (t) => ({
    limit: t.exposeInt('limit'),
    remaining: t.exposeInt('remaining', { description: 'What may still be spent before the window moves on.' }),
    resetSeconds: t.exposeInt('resetSeconds', { description: 'Seconds until the window gives back what it holds.' }),
  }),
});

const RateHeadroomRef = builder.objectRef<{ requests: RateWindow | null; tokens: RateWindow | null }>('RateHeadroom');
RateHeadroomRef.implement({
  description: "What is left of the rate limits now, counting every instance's requests.",
  fields: (t) => ({
    requests: t.field({ type: RateWindowRef, nullable: true, description: 'null: no request rate limit.', resolve: (headroom) => headroom.requests }),
    tokens: t.field({ type: RateWindowRef, nullable: true, description: 'null: no token rate limit.', resolve: (headroom) => headroom.tokens }),
  }),
});

const RateLimitsRef = builder.objectRef<EffectiveLimits>('RateLimits');
RateLimitsRef.implement({
  description: "What a tenant is held to: its plan's limits, with the platform's overrides for this tenant applied.",
  fields: (t) => ({
    requestsPerMinute: t.exposeInt('requestsPerMinute', { nullable: true, description: 'null: no cap.' }),
    tokensPerMinute: t.exposeInt('tokensPerMinute', { nullable: true, description: 'null: no cap. Prompt tokens plus max_tokens are reserved at admission and settled to the actual count.' }),
    concurrentRequests: t.exposeInt('concurrentRequests', { nullable: true, description: 'Requests in flight at once; null: no cap.' }),
    requestsPerHour: t.exposeInt('requestsPerHour', { nullable: true }),
    requestsPerMonth: t.exposeInt('requestsPerMonth', { nullable: true }),
    monthlyTokens: t.exposeInt('monthlyTokens', { nullable: true, description: 'null: unlimited.' }),
    hardQuota: t.exposeBoolean('hardQuota'),
    overridden: t.stringList({
      description: 'Which of requestsPerMinute, tokensPerMinute, concurrentRequests are set for this tenant rather than by its plan.',
      resolve: (limits) =>
        (['requestsPerMinute', 'tokensPerMinute', 'concurrentRequests'] as const).filter((field) => {
          const plan = { requestsPerMinute: limits.plan.requests_per_minute, tokensPerMinute: limits.plan.tokens_per_minute, concurrentRequests: limits.plan.concurrent_requests };
          return limits[field] !== plan[field];
        }),
    }),
  }),
});

const ApiKeyLimitsRef = builder.objectRef<LimitOverrideRow>('ApiKeyLimits');
ApiKeyLimitsRef.implement({
  description: "One API key's own limits, held in addition to its tenant's; null: only the tenant's apply.",
  fields: (t) => ({
    apiKeyId: t.exposeID('api_key_id'),
    requestsPerMinute: t.exposeInt('requests_per_minute', { nullable: true }),
    tokensPerMinute: t.exposeInt('tokens_per_minute', { nullable: true }),
    concurrentRequests: t.exposeInt('concurrent_requests', { nullable: true }),
    updatedAt: t.expose('updated_at', { type: 'DateTime' }),
  }),
});

builder.objectFields(TenantRef, (t) => ({
  limits: t.field({
    type: RateLimitsRef,
    description: "The rate limits in force for the tenant (its plan's, or the platform's overrides).",
    resolve: (tenant, _args, ctx) => ctx.deps.services.limits.limits(tenant.id),
  }),
  rateLimitHeadroom: t.field({
    type: RateHeadroomRef,
    nullable: true,
    description: "What is left of the tenant's rate limits now (usage data: needs usage:read); null while the limits store is unreachable.",
    resolve: async (tenant, _args, ctx) => {
      requireUsageRead(ctx.principal, tenant.id);
      const limits = await ctx.deps.services.limits.limits(tenant.id);
      const states = await ctx.deps.services.limits.windows(limits);
      return states ? { requests: tightestWindow(states, limits.requestSpecs), tokens: tightestWindow(states, limits.tokenSpecs) } : null;
    },
  }),
  apiKeyLimits: t.field({
    type: [ApiKeyLimitsRef],
    description: 'API keys of the tenant that have limits of their own.',
    resolve: (tenant, _args, ctx) => ctx.deps.services.limits.keyOverrides(ctx.principal, tenant.id),
  }),
}));

builder.objectField(ApiKeyRef, 'limits', (t) =>
  t.field({
    type: ApiKeyLimitsRef,
    nullable: true,
    description: "The key's own limits, if it has any.",
    resolve: async (key, _args, ctx) => (await ctx.deps.services.limits.keyOverrides(ctx.principal, key.tenant_id)).find((row) => row.api_key_id === key.id) ?? null,
  }),
);

const RateLimitsInput = builder.inputType('RateLimitsInput', {
  description: 'Each value replaces the plan\'s (1 or more); null or absent keeps the plan\'s.',
  fields: (t) => ({
    requestsPerMinute: t.int(),
    tokensPerMinute: t.int(),
    concurrentRequests: t.int(),
  }),
});

const SetTenantLimitsPayload = builder.objectRef<{ tenantId: string }>('SetTenantLimitsPayload');
SetTenantLimitsPayload.implement({
  fields: (t) => ({
    tenant: t.field({ type: TenantRef, resolve: (payload, _args, ctx) => ctx.deps.services.tenants.get(ctx.principal, payload.tenantId) }),
  }),
});

builder.mutationField('setTenantLimits', (t) =>
  t.field({
    type: SetTenantLimitsPayload,
    args: { tenantId: t.arg.id({ required: true }), limits: t.arg({ type: RateLimitsInput, required: true }) },
    description: "Platform admin only. Overrides the tenant's plan limits; applies to the next request on every instance.",
    resolve: async (_root, args, ctx) => {
      await ctx.deps.services.limits.setTenantLimits(ctx, args.tenantId, args.limits);
      return { tenantId: args.tenantId };
    },
  }),
);

const SetApiKeyLimitsPayload = builder.objectRef<{ limits: LimitOverrideRow }>('SetApiKeyLimitsPayload');
SetApiKeyLimitsPayload.implement({ fields: (t) => ({ limits: t.field({ type: ApiKeyLimitsRef, resolve: (payload) => payload.limits }) }) });

builder.mutationField('setApiKeyLimits', (t) =>
  t.field({
    type: SetApiKeyLimitsPayload,
    args: { apiKeyId: t.arg.id({ required: true }), limits: t.arg({ type: RateLimitsInput, required: true }) },
    description: "The platform or a tenant admin. Limits for one key, held in addition to its tenant's; all null removes them.",
    resolve: async (_root, args, ctx) => ({ limits: await ctx.deps.services.limits.setApiKeyLimits(ctx, args.apiKeyId, args.limits) }),
  }),
);
