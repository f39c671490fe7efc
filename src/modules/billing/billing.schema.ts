import { builder } from '../../builder.ts';
import { badInput } from '../../shared/errors.ts';
import { requireAuthenticated } from '../auth/access.ts';
import { ChatMessageInput } from '../completion/completion.schema.ts';
import { PlanPriceRef, PlanRef } from '../plan/plan.schema.ts';
import { TenantRef } from '../tenant/tenant.schema.ts';
import { MoneyRef } from '../usage/usage.schema.ts';
import type { CostEstimate, Invoice, InvoiceCharge, InvoiceLine, InvoicePlanPeriod } from './billing.service.ts';

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
