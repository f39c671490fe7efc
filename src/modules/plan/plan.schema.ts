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
