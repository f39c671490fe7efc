import { builder } from '../../builder.ts';
import { TenantRef } from '../tenant/tenant.schema.ts';
import type { QuotaView } from './quota-view.ts';

const QuotaStateEnum = builder.enumType('QuotaState', {
  values: {
    OK: { value: 'OK', description: 'Under 80% of the monthly tokens.' },
    WARNING: { value: 'WARNING', description: '80% of the monthly tokens used, or more.' },
    EXCEEDED: { value: 'EXCEEDED', description: 'All the monthly tokens (or requests) used: refused on a hard quota, billed as overage on a soft one.' },
  } as const,
});

export const QuotaRef = builder.objectRef<QuotaView>('Quota');
QuotaRef.implement({
  description: "A tenant's monthly token quota for the current billing period (a calendar month, UTC).",
  fields: (t) => ({
    tenantId: t.exposeID('tenantId'),
    period: t.string({ description: 'The billing period, YYYY-MM.', resolve: (quota) => quota.period.month }),
    periodStart: t.field({ type: 'DateTime', resolve: (quota) => quota.period.start }),
    periodEnd: t.field({ type: 'DateTime', description: 'Exclusive: when the quota resets.', resolve: (quota) => quota.period.end }),
    limit: t.exposeInt('limit', { description: 'Tokens the plan includes this period.' }),
    used: t.exposeInt('used', { description: 'Tokens used this period, as requests settled.' }),
    remaining: t.exposeInt('remaining'),
    overage: t.exposeInt('overage', { description: 'Tokens beyond the limit: billed at the overage rate on a soft quota.' }),
    state: t.field({ type: QuotaStateEnum, resolve: (quota) => quota.state }),
    hardQuota: t.exposeBoolean('hardQuota', { description: 'True: refused with QUOTA_EXCEEDED once used up.' }),
    requests: t.exposeInt('requests', { description: 'Requests admitted this period.' }),
    requestLimit: t.exposeInt('requestLimit', { nullable: true, description: "The plan's cap on requests per month, if any." }),
    plan: t.exposeString('planId', { description: 'Id of the plan in force.' }),
    threshold: t.exposeInt('threshold', { nullable: true, description: 'On quotaUpdated: the alert threshold reached (80 or 100).' }),
  }),
});

builder.objectField(TenantRef, 'quota', (t) =>
  t.field({
    type: QuotaRef,
    description: 'Monthly tokens: limit, used, remaining, overage and state for the current period.',
    resolve: (tenant, _args, ctx) => ctx.deps.services.quota.quota(ctx.principal, tenant.id),
  }),
);

builder.subscriptionField('quotaUpdated', (t) =>
  t.field({
    type: QuotaRef,
    args: { tenantId: t.arg.id({ description: "Default: the caller's tenant; the platform admin without one hears every tenant." }) },
    description: 'Fires when a tenant reaches 80% and 100% of its monthly tokens, on whichever instance served the request.',
    subscribe: (_root, args, ctx) => ctx.deps.services.quota.subscribe(ctx.principal, args.tenantId),
    resolve: (quota) => quota,
  }),
);
