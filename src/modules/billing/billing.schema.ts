import { builder } from '../../builder.ts';
import { badInput } from '../../shared/errors.ts';
import { requireAuthenticated } from '../identity/index.ts';
import { ChatMessageInput } from '../completion/completion.schema.ts';
import { PlanPriceRef, PlanRef } from '../plan/plan.schema.ts';
import { TenantRef } from '../tenant/tenant.schema.ts';
import { MoneyRef } from '../usage/usage.schema.ts';
import type { BudgetForecast, CostEstimate, Forecast, Invoice, InvoiceCharge, InvoiceLine, InvoicePlanPeriod } from './billing.service.ts';

const CostEstimateRef = builder.objectRef<CostEstimate>('CostEstimate');
CostEstimateRef.implement({
  description: 'The most a request can cost before it is sent: all its prompt tokens and maxTokens of reply at the model\'s prices.',
  fields: (t) => ({
    model: t.exposeString('model'),
    promptTokens: t.exposeInt('promptTokens', { description: 'Counted with the tokenizer when messages were given.' }),
    maxTokens: t.exposeInt('maxTokens', { description: "The reply budget assumed: the request's, else the model's context window left, else the default." }),
    cost: t.field({ type: MoneyRef, resolve: (estimate) => estimate.cost }),
    priced: t.exposeBoolean('priced', { description: 'False when the model has no price in the price book.' }),
  }),
});

const EstimateCostInput = builder.inputType('EstimateCostInput', {
  fields: (t) => ({
    model: t.string({ required: true }),
    messages: t.field({ type: [ChatMessageInput], description: 'The chat messages to count; or give promptTokens.' }),
    promptTokens: t.int(),
    maxTokens: t.int(),
  }),
});

builder.queryField('estimateCost', (t) =>
  t.field({
    type: CostEstimateRef,
    args: { input: t.arg({ type: EstimateCostInput, required: true }) },
    description: 'The most a request to a model can cost, before sending it. Exactly one of messages or promptTokens.',
    resolve: (_root, { input }, ctx) => {
      requireAuthenticated(ctx.principal);
      const hasMessages = input.messages != null;
      if (hasMessages === (input.promptTokens != null)) throw badInput('give exactly one of messages or promptTokens', { field: 'messages' });
      const prompt = input.messages ? input.messages.map((m) => ({ role: m.role, content: m.content })) : (input.promptTokens as number);
      return ctx.deps.services.billing.estimateCost(input.model, prompt, input.maxTokens);
    },
  }),
);

const InvoicePlanPeriodRef = builder.objectRef<InvoicePlanPeriod>('InvoicePlanPeriod');
InvoicePlanPeriodRef.implement({
  description: 'Consecutive days billed at one plan (the plan in force at the end of each day).',
  fields: (t) => ({
    plan: t.field({ type: PlanRef, resolve: (span) => span.plan }),
    from: t.expose('from', { type: 'DateTime' }),
    to: t.expose('to', { type: 'DateTime', description: 'Exclusive.' }),
    days: t.exposeInt('days'),
    baseFee: t.field({ type: MoneyRef, description: "The plan's monthly price times days / days in the month, at the price versions in force.", resolve: (span) => span.baseFee }),
  }),
});

const InvoiceChargeRef = builder.objectRef<InvoiceCharge>('InvoiceCharge');
InvoiceChargeRef.implement({
  description: 'A stretch of the month at one plan and one version of its price: what it adds to the invoice.',
  fields: (t) => ({
    plan: t.field({ type: PlanRef, resolve: (charge) => charge.plan }),
    price: t.field({ type: PlanPriceRef, description: 'The price version in force in this stretch.', resolve: (charge) => charge.price }),
    from: t.expose('from', { type: 'DateTime' }),
    to: t.expose('to', { type: 'DateTime', description: 'Exclusive.' }),
    baseFee: t.field({ type: MoneyRef, description: 'The monthly price times the time of this stretch / the time of the month.', resolve: (charge) => charge.baseFee }),
    tokens: t.exposeInt('tokens', { description: 'Tokens served in this stretch.' }),
    overageTokens: t.exposeInt('overageTokens', { description: "Of those, the ones beyond the month's included tokens, in the order served." }),
    overageCharge: t.field({ type: MoneyRef, description: "overageTokens at this version's tiers.", resolve: (charge) => charge.overageCharge }),
  }),
});

const InvoiceLineRef = builder.objectRef<{ line: InvoiceLine; admin: boolean }>('InvoiceLine');
InvoiceLineRef.implement({
  description: "One model's requests and tokens in the period.",
  fields: (t) => ({
    model: t.string({ resolve: ({ line }) => line.model }),
    requests: t.int({ resolve: ({ line }) => line.requests }),
    promptTokens: t.int({ resolve: ({ line }) => line.promptTokens }),
    completionTokens: t.int({ resolve: ({ line }) => line.completionTokens }),
    totalTokens: t.int({ resolve: ({ line }) => line.totalTokens }),
    priceBookValue: t.field({ type: [MoneyRef], description: "The requests priced at the model's list prices, per currency.", resolve: ({ line }) => line.priceBookValue }),
    costBasis: t.field({ type: MoneyRef, nullable: true, description: 'Platform admin only: what serving these tokens cost.', resolve: ({ line, admin }) => (admin ? line.costBasis : null) }),
    margin: t.field({
      type: MoneyRef,
      nullable: true,
      description: 'Platform admin only: priceBookValue less costBasis (null when their currencies differ).',
      resolve: ({ line, admin }) => (admin ? line.margin : null),
    }),
  }),
});

const InvoiceRef = builder.objectRef<Invoice>('Invoice');
InvoiceRef.implement({
  description: 'A month\'s bill: the base fee, included tokens, overage tokens at the overage rate, and the tokens per model.',
  fields: (t) => ({
    tenantId: t.exposeID('tenantId'),
    month: t.string({ description: 'YYYY-MM.', resolve: (invoice) => invoice.period.month }),
    periodStart: t.field({ type: 'DateTime', resolve: (invoice) => invoice.period.start }),
    periodEnd: t.field({ type: 'DateTime', description: 'Exclusive.', resolve: (invoice) => invoice.period.end }),
    final: t.exposeBoolean('final', { description: 'False for the current month: a running total.' }),
    asOf: t.expose('asOf', { type: 'DateTime' }),
    currency: t.exposeString('currency'),
    planPeriods: t.field({ type: [InvoicePlanPeriodRef], resolve: (invoice) => invoice.planPeriods }),
    baseFee: t.field({ type: MoneyRef, resolve: (invoice) => invoice.baseFee }),
    charges: t.field({ type: [InvoiceChargeRef], description: 'The month cut at plan and price changes, in order.', resolve: (invoice) => invoice.charges }),
    includedTokens: t.exposeInt('includedTokens', { nullable: true, description: 'null: unlimited.' }),
    usedTokens: t.exposeInt('usedTokens'),
    overageTokens: t.exposeInt('overageTokens'),
    overageRatePerMillion: t.field({ type: MoneyRef, resolve: (invoice) => invoice.overageRatePerMillion }),
    overageCharge: t.field({ type: MoneyRef, description: "The charges' overage, each stretch at its price version's tiers.", resolve: (invoice) => invoice.overageCharge }),
    total: t.field({ type: MoneyRef, description: 'baseFee plus overageCharge.', resolve: (invoice) => invoice.total }),
    lines: t.field({ type: [InvoiceLineRef], resolve: (invoice) => invoice.lines.map((line) => ({ line, admin: invoice.showCostBasis })) }),
  }),
});

builder.objectField(TenantRef, 'invoicePreview', (t) =>
  t.field({
    type: InvoiceRef,
    args: { month: t.arg.string({ description: 'YYYY-MM (UTC); default: the current month, as a running total.' }) },
    description: "The tenant's invoice for a month.",
    resolve: (tenant, args, ctx) => ctx.deps.services.billing.invoicePreview(ctx.principal, tenant.id, args.month),
  }),
);

const ForecastMethodEnum = builder.enumType('ForecastMethod', {
  values: {
    WEEKDAY: { value: 'weekday', description: "Each day to come at the mean of this month's completed days on the same weekday (all days' mean until that weekday has come up)." },
    TREND: { value: 'trend', description: "Each day to come on the least-squares line through this month's completed days, never below zero." },
  } as const,
});

const ForecastCostRef = builder.objectRef<Forecast['costs'][number]>('ForecastCost');
ForecastCostRef.implement({
  fields: (t) => ({
    spent: t.field({ type: MoneyRef, description: 'Price-book cost so far this month.', resolve: (cost) => cost.spent }),
    projected: t.field({ type: MoneyRef, description: 'Projected for the whole month.', resolve: (cost) => cost.projected }),
  }),
});

const BudgetForecastRef = builder.objectRef<BudgetForecast>('BudgetForecast');
BudgetForecastRef.implement({
  fields: (t) => ({
    apiKeyId: t.exposeID('apiKeyId', { nullable: true, description: "null: the tenant's budget." }),
    limit: t.field({ type: MoneyRef, resolve: (budget) => budget.limit }),
    spent: t.field({ type: MoneyRef, resolve: (budget) => budget.spent }),
    projected: t.field({ type: MoneyRef, resolve: (budget) => budget.projected }),
    crossingDate: t.exposeString('crossingDate', { nullable: true, description: 'YYYY-MM-DD (UTC) the budget is, or was, spent on if the trend holds; null: not this month.' }),
  }),
});

const ForecastRef = builder.objectRef<Forecast>('Forecast');
ForecastRef.implement({
  description: "This month's tokens and cost projected to its end from its daily usage, and when the quota and budgets are crossed if the trend holds.",
  fields: (t) => ({
    month: t.string({ description: 'YYYY-MM.', resolve: (forecast) => forecast.period.month }),
    asOf: t.expose('asOf', { type: 'DateTime' }),
    method: t.field({ type: ForecastMethodEnum, resolve: (forecast) => forecast.method }),
    daysObserved: t.exposeInt('daysObserved', { description: 'Complete days of the month the projection is drawn from (none on the 1st: nothing is projected then).' }),
    usedTokens: t.exposeInt('usedTokens'),
    projectedTokens: t.exposeInt('projectedTokens'),
    costs: t.field({ type: [ForecastCostRef], description: 'Per currency the requests were priced in.', resolve: (forecast) => forecast.costs }),
    includedTokens: t.exposeInt('includedTokens', { nullable: true, description: "The plan's monthly tokens; null: unlimited." }),
    quotaCrossingDate: t.exposeString('quotaCrossingDate', { nullable: true, description: 'YYYY-MM-DD (UTC) the monthly tokens are, or were, used up on if the trend holds; null: not this month.' }),
    budgets: t.field({ type: [BudgetForecastRef], resolve: (forecast) => forecast.budgets }),
  }),
});

builder.objectField(TenantRef, 'forecast', (t) =>
  t.field({
    type: ForecastRef,
    args: { method: t.arg({ type: ForecastMethodEnum, defaultValue: 'weekday' }) },
    description: "The current month's projection (the method is described on ForecastMethod).",
    resolve: (tenant, args, ctx) => ctx.deps.services.billing.forecast(ctx.principal, tenant.id, args.method ?? 'weekday'),
  }),
);
