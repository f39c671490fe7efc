import { builder } from '../../builder.ts';
import type { GraphQLContext } from '../../context.ts';
import { priceInForce } from './plan-price.ts';
import type { PlanPriceRow, PlanRow, PriceTier } from './plan.table.ts';

export const PlanRef = builder.objectRef<PlanRow>('Plan');
const PriceTierRef = builder.objectRef<PriceTier>('PriceTier');
export const PlanPriceRef = builder.objectRef<PlanPriceRow>('PlanPrice');

PriceTierRef.implement({
  description: 'One tier of an overage price, graduated: the tokens beyond the included ones up to upToTokens are billed at perMillion.',
  fields: (t) => ({
    upToTokens: t.exposeInt('upToTokens', { nullable: true, description: "The tier's upper bound, counted in tokens beyond the included ones; null in the last tier." }),
    perMillion: t.exposeString('perMillion', { description: 'Decimal string per million tokens.' }),
  }),
});

PlanPriceRef.implement({
  description: "A version of a plan's price, in force from effectiveFrom until the next version's: usage is billed at the version in force when it was served.",
  fields: (t) => ({
    effectiveFrom: t.expose('effective_from', { type: 'DateTime' }),
    currency: t.exposeString('currency'),
    monthlyPrice: t.exposeString('monthly_price', { description: 'Decimal string, e.g. "39.00".' }),
    overageTiers: t.field({ type: [PriceTierRef], resolve: (version) => version.overage_tiers }),
  }),
});

async function currentPrice(plan: PlanRow, ctx: GraphQLContext): Promise<PlanPriceRow> {
  const version = priceInForce(await ctx.loaders.planPrices.load(plan.id), Date.now());
  if (!version) throw new Error(`plan ${plan.id} has no price in force`);
  return version;
}

PlanRef.implement({
  description: 'What a tenant buys: its monthly price, included tokens and rate limits. A null cap is no cap.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    currency: t.string({ description: 'ISO 4217 code of the monthly price and overage rate in force now.', resolve: async (plan, _args, ctx) => (await currentPrice(plan, ctx)).currency }),
    monthlyPrice: t.string({ description: 'Decimal string in force now, e.g. "39.00".', resolve: async (plan, _args, ctx) => (await currentPrice(plan, ctx)).monthly_price }),
    monthlyTokens: t.exposeInt('monthly_tokens', { nullable: true, description: 'Tokens included each month; null: unlimited.' }),
    requestsPerMinute: t.exposeInt('requests_per_minute', { nullable: true }),
    tokensPerMinute: t.exposeInt('tokens_per_minute', { nullable: true }),
    requestsPerHour: t.exposeInt('requests_per_hour', { nullable: true }),
    requestsPerMonth: t.exposeInt('requests_per_month', { nullable: true }),
    concurrentRequests: t.exposeInt('concurrent_requests', { nullable: true, description: 'Requests in flight at once; null: no cap.' }),
    hardQuota: t.exposeBoolean('hard_quota', {
      description: 'True: requests over the monthly tokens are refused. False: they are billed as overage.',
    }),
    overagePerMillion: t.string({
      description: "Decimal string per million tokens over the monthly tokens: the first tier's rate in force now.",
      resolve: async (plan, _args, ctx) => (await currentPrice(plan, ctx)).overage_tiers[0]!.perMillion,
    }),
    overageTiers: t.field({ type: [PriceTierRef], description: 'The overage price in force now, by tier.', resolve: async (plan, _args, ctx) => (await currentPrice(plan, ctx)).overage_tiers }),
    unlimited: t.boolean({
      description: 'True when the plan caps nothing: no monthly tokens, requests or rate limits.',
      resolve: (plan) =>
        plan.monthly_tokens === null &&
        plan.requests_per_minute === null &&
        plan.tokens_per_minute === null &&
        plan.requests_per_hour === null &&
        plan.requests_per_month === null &&
        plan.concurrent_requests === null,
    }),
    retiredAt: t.expose('retired_at', { type: 'DateTime', nullable: true, description: 'When the plan stopped being offered; its tenants keep it until they move.' }),
    priceVersions: t.field({ type: [PlanPriceRef], description: 'Every version of the price, oldest first, including ones scheduled to take effect later.', resolve: (plan, _args, ctx) => ctx.loaders.planPrices.load(plan.id) }),
  }),
});

builder.queryField('plans', (t) =>
  t.field({
    type: [PlanRef],
    args: { includeRetired: t.arg.boolean({ description: 'Platform admin only: retired plans too.' }) },
    description: 'Every plan on offer, cheapest first; readable by anyone, as a pricing page is.',
    resolve: (_root, args, ctx) => ctx.deps.services.plans.list(ctx.principal, { includeRetired: args.includeRetired }),
  }),
);

const PriceTierInput = builder.inputType('PriceTierInput', {
  fields: (t) => ({
    upToTokens: t.int({ description: "The tier's upper bound in tokens beyond the included ones; null (omitted) in the last tier." }),
    perMillion: t.string({ required: true, description: 'Decimal string per million tokens, at most 6 decimals.' }),
  }),
});

const CreatePlanInput = builder.inputType('CreatePlanInput', {
  description: 'A null or omitted cap is no cap; a plan with none is unlimited.',
  fields: (t) => ({
    id: t.id({ required: true, description: 'Lowercase letters, digits and dashes, e.g. "team-2027".' }),
    name: t.string({ required: true }),
    currency: t.string({ required: true, description: 'ISO 4217 code.' }),
    monthlyPrice: t.string({ required: true, description: 'Decimal string, e.g. "39.00".' }),
    monthlyTokens: t.int({ description: 'Tokens included each month; null: unlimited.' }),
    requestsPerMinute: t.int(),
    tokensPerMinute: t.int(),
    requestsPerHour: t.int(),
    requestsPerMonth: t.int(),
    concurrentRequests: t.int(),
    hardQuota: t.boolean({ required: true, description: 'True: refuse requests past monthlyTokens. False: bill them as overage.' }),
    overagePerMillion: t.string({ description: 'One rate for every overage token; or give overageTiers. Default "0.00".' }),
    overageTiers: t.field({ type: [PriceTierInput], description: 'Graduated tiers over the tokens beyond the included ones.' }),
  }),
});

const UpdatePlanInput = builder.inputType('UpdatePlanInput', {
  description:
    'Omitted fields stay as they are; null clears a cap (monthlyTokens, requestsPerMinute, tokensPerMinute, requestsPerHour, requestsPerMonth, concurrentRequests). ' +
    'A price field makes a new price version from priceEffectiveFrom (default now): usage served before it keeps its price.',
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
    overagePerMillion: t.string({ description: 'Decimal string per million tokens over the monthly tokens (one tier).' }),
    overageTiers: t.field({ type: [PriceTierInput] }),
    priceEffectiveFrom: t.field({ type: 'DateTime', description: 'When the new price takes effect: now (default) or later, never earlier.' }),
  }),
});

function planPayload(name: string) {
  const ref = builder.objectRef<{ plan: PlanRow }>(name);
  ref.implement({ fields: (t) => ({ plan: t.field({ type: PlanRef, resolve: (payload) => payload.plan }) }) });
  return ref;
}

const tiers = (input: readonly { upToTokens?: number | null; perMillion: string }[] | null | undefined) =>
  input?.map((tier) => ({ upToTokens: tier.upToTokens ?? null, perMillion: tier.perMillion }));

builder.mutationField('createPlan', (t) =>
  t.field({
    type: planPayload('CreatePlanPayload'),
    args: { input: t.arg({ type: CreatePlanInput, required: true }) },
    description: 'Platform admin only: a new plan on offer.',
    resolve: async (_root, { input }, ctx) => ({ plan: await ctx.deps.services.plans.create(ctx, { ...input, id: String(input.id), overageTiers: tiers(input.overageTiers) }) }),
  }),
);

builder.mutationField('updatePlan', (t) =>
  t.field({
    type: planPayload('UpdatePlanPayload'),
    args: { input: t.arg({ type: UpdatePlanInput, required: true }) },
    description: "Platform admin only: a plan's limits (at once) and price (a new version from priceEffectiveFrom).",
    resolve: async (_root, { input }, ctx) => ({ plan: await ctx.deps.services.plans.update(ctx, { ...input, id: String(input.id), overageTiers: tiers(input.overageTiers) }) }),
  }),
);

builder.mutationField('retirePlan', (t) =>
  t.field({
    type: planPayload('RetirePlanPayload'),
    args: { id: t.arg.id({ required: true }) },
    description: 'Platform admin only: stop offering a plan. Its tenants keep it until they move; no tenant may move onto it.',
    resolve: async (_root, args, ctx) => ({ plan: await ctx.deps.services.plans.retire(ctx, String(args.id)) }),
  }),
);
