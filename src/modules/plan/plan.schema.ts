import { builder } from '../../builder.ts';
import { listPlans } from './plan.repository.ts';
import type { PlanRow } from './plan.table.ts';

export const PlanRef = builder.objectRef<PlanRow>('Plan');

PlanRef.implement({
  description: 'What a tenant buys: its monthly price, included tokens and rate limits.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    currency: t.exposeString('currency', { description: 'ISO 4217 code of the monthly price and overage rate.' }),
    monthlyPrice: t.exposeString('monthly_price', { description: 'Decimal string, e.g. "39.00".' }),
    monthlyTokens: t.exposeInt('monthly_tokens'),
    requestsPerMinute: t.exposeInt('requests_per_minute'),
    tokensPerMinute: t.exposeInt('tokens_per_minute'),
    requestsPerHour: t.exposeInt('requests_per_hour', { nullable: true }),
    requestsPerMonth: t.exposeInt('requests_per_month', { nullable: true }),
    concurrentRequests: t.exposeInt('concurrent_requests', { nullable: true, description: 'Requests in flight at once; null: no cap.' }),
    hardQuota: t.exposeBoolean('hard_quota', {
      description: 'True: requests over the monthly tokens are refused. False: they are billed as overage.',
    }),
    overagePerMillion: t.exposeString('overage_per_million', { description: 'Decimal string per million tokens.' }),
  }),
});

builder.queryField('plans', (t) =>
  t.field({
    type: [PlanRef],
    description: 'Every plan on offer; readable by anyone, as a pricing page is.',
    resolve: (_root, _args, ctx) => listPlans(ctx.deps.db.db),
  }),
);

const UpdatePlanInput = builder.inputType('UpdatePlanInput', {
  description: 'Omitted fields stay as they are; null clears an optional cap (requestsPerHour, requestsPerMonth, concurrentRequests).',
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string(),
    currency: t.string({ description: 'ISO 4217 code.' }),
    monthlyPrice: t.string({ description: 'Decimal string, e.g. "39.00".' }),
    monthlyTokens: t.int(),
    requestsPerMinute: t.int(),
    tokensPerMinute: t.int(),
    requestsPerHour: t.int(),
    requestsPerMonth: t.int(),
    concurrentRequests: t.int(),
    hardQuota: t.boolean(),
    overagePerMillion: t.string({ description: 'Decimal string per million tokens over the monthly tokens.' }),
  }),
});

const UpdatePlanPayload = builder.objectRef<{ plan: PlanRow }>('UpdatePlanPayload');
UpdatePlanPayload.implement({ fields: (t) => ({ plan: t.field({ type: PlanRef, resolve: (payload) => payload.plan }) }) });

builder.mutationField('updatePlan', (t) =>
  t.field({
    type: UpdatePlanPayload,
    args: { input: t.arg({ type: UpdatePlanInput, required: true }) },
    description: "Platform admin only: a plan's price, currency, monthly tokens, rate limits, overage rate, hard or soft quota.",
    resolve: async (_root, { input }, ctx) => ({ plan: await ctx.deps.services.plans.update(ctx, input) }),
  }),
);
