import { builder } from '../../builder.ts';
import { TenantRef } from '../tenant/tenant.schema.ts';
import { MoneyRef } from '../usage/usage.schema.ts';
import type { BudgetView } from './budget-view.ts';

const BudgetRef = builder.objectRef<BudgetView>('Budget');
BudgetRef.implement({
  description: "A monthly money budget of a tenant (apiKeyId null) or of one of its API keys, in the currency of the tenant's plan, with what was spent this month.",
  fields: (t) => ({
    tenantId: t.exposeID('tenantId'),
    apiKeyId: t.exposeID('apiKeyId', { nullable: true, description: "null: the tenant's budget, over all its keys." }),
    period: t.string({ description: 'YYYY-MM.', resolve: (view) => view.period.month }),
    currency: t.exposeString('currency', { description: "The plan's currency when the budget was set; only requests priced in it count." }),
    limit: t.field({ type: MoneyRef, resolve: (view) => ({ currency: view.currency, micros: view.limitMicros }) }),
    spent: t.field({ type: MoneyRef, description: 'What the requests served this month cost at the price book, in this currency.', resolve: (view) => ({ currency: view.currency, micros: view.spentMicros }) }),
    remaining: t.field({ type: MoneyRef, resolve: (view) => ({ currency: view.currency, micros: Math.max(0, view.limitMicros - view.spentMicros) }) }),
    alertThresholds: t.exposeIntList('alertThresholds', { description: 'Percentages of the limit at which budgetAlert and the webhook fire, once each a month.' }),
    hardStop: t.exposeBoolean('hardStop', { description: 'True: requests are refused (402 budget_exceeded) once the limit is spent.' }),
    threshold: t.exposeInt('threshold', { nullable: true, description: 'On budgetAlert: the threshold reached.' }),
  }),
});

builder.objectField(TenantRef, 'budgets', (t) =>
  t.field({
    type: [BudgetRef],
    description: "The tenant's budget and its keys' budgets, with this month's spending.",
    resolve: (tenant, _args, ctx) => ctx.deps.services.budgets.list(ctx.principal, tenant.id),
  }),
);

const SetBudgetInput = builder.inputType('SetBudgetInput', {
  fields: (t) => ({
    tenantId: t.id({ required: true }),
    apiKeyId: t.id({ description: "Omitted: the tenant's budget over all its keys." }),
    monthlyLimit: t.string({ required: true, description: 'Decimal string in the currency of the tenant\'s plan, e.g. "250.00".' }),
    alertThresholds: t.intList({ description: 'Percentages of the limit, 1 to 100; default [50, 80, 100].' }),
    hardStop: t.boolean({ description: 'Refuse requests once the limit is spent (default false: alerts only).' }),
  }),
});

const SetBudgetPayload = builder.objectRef<{ budget: BudgetView }>('SetBudgetPayload');
SetBudgetPayload.implement({ fields: (t) => ({ budget: t.field({ type: BudgetRef, resolve: (payload) => payload.budget }) }) });

builder.mutationField('setBudget', (t) =>
  t.field({
    type: SetBudgetPayload,
    args: { input: t.arg({ type: SetBudgetInput, required: true }) },
    description: "Tenant admin or platform: set a tenant's or an API key's monthly budget (replacing the one it had).",
    resolve: async (_root, { input }, ctx) => ({
      budget: await ctx.deps.services.budgets.set(ctx, { ...input, tenantId: String(input.tenantId), apiKeyId: input.apiKeyId == null ? null : String(input.apiKeyId) }),
    }),
  }),
);

const RemoveBudgetPayload = builder.objectRef<{ removed: boolean }>('RemoveBudgetPayload');
RemoveBudgetPayload.implement({ fields: (t) => ({ removed: t.exposeBoolean('removed', { description: 'False when there was no such budget.' }) }) });

builder.mutationField('removeBudget', (t) =>
  t.field({
    type: RemoveBudgetPayload,
    args: { tenantId: t.arg.id({ required: true }), apiKeyId: t.arg.id() },
    description: "Tenant admin or platform: remove a tenant's (apiKeyId omitted) or an API key's budget.",
    resolve: async (_root, args, ctx) => ({ removed: await ctx.deps.services.budgets.remove(ctx, String(args.tenantId), args.apiKeyId == null ? null : String(args.apiKeyId)) }),
  }),
);

builder.subscriptionField('budgetAlert', (t) =>
  t.field({
    type: BudgetRef,
    args: { tenantId: t.arg.id({ description: "Default: the caller's tenant; the platform admin without one hears every tenant." }) },
    description: 'Fires once a month for each threshold a budget reaches, on whichever instance served the request that reached it.',
    subscribe: (_root, args, ctx) => ctx.deps.services.budgets.subscribe(ctx.principal, args.tenantId == null ? null : String(args.tenantId)),
    resolve: (view) => view,
  }),
);
