import { builder } from '../../builder.ts';
import { DateRangeInput, MoneyRef } from '../usage/usage.schema.ts';
import type { Comparison, ExperimentResults, VariantResult } from './experiment-verdict.ts';
import type { Experiment } from './experiment.service.ts';
import { experimentStatuses, stickinessModes, type Variant } from './experiment.table.ts';

const ExperimentStatusEnum = builder.enumType('ExperimentStatus', {
  description: 'RUNNING splits requests; PAUSED sends all to the baseline (the first variant); STOPPED is final and ends the split.',
  values: experimentStatuses,
});

const StickinessEnum = builder.enumType('ExperimentStickiness', {
  description: 'USER: each X-User-ID keeps its variant (a stable hash; requests without one are assigned at random). REQUEST: each request is assigned anew.',
  values: stickinessModes,
});

const VariantRef = builder.objectRef<Variant>('ExperimentVariant');
VariantRef.implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    model: t.exposeString('model', { description: 'The configured model or route its requests go to.' }),
    weight: t.exposeInt('weight', { description: 'Its share of requests is weight / the sum of weights.' }),
  }),
});

const FeedbackMeanRef = builder.objectRef<VariantResult['feedback'][number]>('ExperimentFeedbackMean');
FeedbackMeanRef.implement({
  fields: (t) => ({
    metric: t.exposeString('metric'),
    mean: t.exposeFloat('mean', { description: 'Booleans count as 1 and 0: the mean is the rate.' }),
    count: t.exposeInt('count', { description: 'Requests with feedback on the metric (each counted once).' }),
  }),
});

const VariantResultRef = builder.objectRef<VariantResult>('ExperimentVariantResult');
VariantResultRef.implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    requests: t.exposeInt('requests'),
    errorRate: t.exposeFloat('errorRate', { nullable: true, description: 'Requests that ended in an error, 0 to 1.' }),
    latencyMsP50: t.exposeFloat('latencyMsP50', { nullable: true }),
    latencyMsP95: t.exposeFloat('latencyMsP95', { nullable: true }),
    ttftMsP50: t.exposeFloat('ttftMsP50', { nullable: true }),
    promptTokens: t.exposeInt('promptTokens'),
    completionTokens: t.exposeInt('completionTokens'),
    cost: t.field({ type: MoneyRef, resolve: (result) => result.cost }),
    feedback: t.field({ type: [FeedbackMeanRef], resolve: (result) => result.feedback }),
  }),
});

const ComparisonRef = builder.objectRef<Comparison>('ExperimentComparison');
ComparisonRef.implement({
  description: "A variant against the baseline on one metric: errorRate (two-proportion z), latencyMs and costMicros per request (Welch's t), or a feedback metric (z for rates, t for means).",
  fields: (t) => ({
    metric: t.exposeString('metric'),
    baseline: t.exposeString('baseline'),
    variant: t.exposeString('variant'),
    difference: t.exposeFloat('difference', { description: 'variant - baseline.' }),
    pValue: t.exposeFloat('pValue', { description: 'Two-sided.' }),
    significant: t.exposeBoolean('significant', { description: 'p < 0.05 with at least 30 values on each side.' }),
  }),
});

const ResultsRef = builder.objectRef<ExperimentResults>('ExperimentResults');
ResultsRef.implement({
  fields: (t) => ({
    variants: t.field({ type: [VariantResultRef], resolve: (results) => results.variants }),
    comparisons: t.field({ type: [ComparisonRef], resolve: (results) => results.comparisons }),
    recommendation: t.exposeString('recommendation', { description: 'The verdict in words, one sentence per variant.' }),
  }),
});

export const ExperimentRef = builder.objectRef<Experiment>('Experiment');
ExperimentRef.implement({
  description: 'An A/B experiment on a requested model name, for one tenant or platform-wide.',
  fields: (t) => ({
    id: t.exposeID('id'),
    tenantId: t.exposeID('tenantId', { nullable: true, description: 'null: platform-wide, for tenants without an experiment of their own on the name.' }),
    model: t.exposeString('model', { description: 'The name clients ask for.' }),
    variants: t.field({ type: [VariantRef], description: 'The first is the baseline.', resolve: (experiment) => experiment.variants }),
    stickiness: t.field({ type: StickinessEnum, resolve: (experiment) => experiment.stickiness }),
    status: t.field({ type: ExperimentStatusEnum, resolve: (experiment) => experiment.status }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    results: t.field({
      type: ResultsRef,
      args: { range: t.arg({ type: DateRangeInput, required: true }) },
      description: 'The verdict over a half-open range, computed in the usage store.',
      resolve: (experiment, args, ctx) => ctx.deps.services.experiments.results(experiment, { from: args.range.from, to: args.range.to }),
    }),
  }),
});

builder.queryField('experiment', (t) =>
  t.field({
    type: ExperimentRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    description: "An experiment by id; another tenant's (or, for a tenant, a platform-wide one) is NOT_FOUND.",
    resolve: (_root, args, ctx) => ctx.deps.services.experiments.get(ctx.principal, String(args.id)),
  }),
);

builder.queryField('experiments', (t) =>
  t.field({
    type: [ExperimentRef],
    args: { tenantId: t.arg.id({ description: 'Omitted: the platform-wide experiments (platform admin only).' }) },
    description: "A tenant's experiments, newest first.",
    resolve: (_root, args, ctx) => ctx.deps.services.experiments.list(ctx.principal, args.tenantId == null ? null : String(args.tenantId)),
  }),
);

const VariantInput = builder.inputType('ExperimentVariantInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: '1 to 64 letters, digits, "_", "." or "-"; unique in the experiment.' }),
    model: t.string({ required: true, description: 'A configured chat model or route.' }),
    weight: t.int({ required: true, description: '1 to 1,000,000.' }),
  }),
});

const CreateExperimentInput = builder.inputType('CreateExperimentInput', {
  fields: (t) => ({
    model: t.string({ required: true, description: 'The requested name to split.' }),
    tenantId: t.id({ description: 'Omitted: platform-wide (platform admin only).' }),
    variants: t.field({ type: [VariantInput], required: true, description: '2 to 10; the first is the baseline.' }),
    stickiness: t.field({ type: StickinessEnum, defaultValue: 'USER' }),
  }),
});

const ExperimentPayload = builder.objectRef<{ experiment: Experiment }>('ExperimentPayload');
ExperimentPayload.implement({ fields: (t) => ({ experiment: t.field({ type: ExperimentRef, resolve: (payload) => payload.experiment }) }) });

builder.mutationField('createExperiment', (t) =>
  t.field({
    type: ExperimentPayload,
    args: { input: t.arg({ type: CreateExperimentInput, required: true }) },
    description: 'Tenant admin (for the tenant) or platform (also platform-wide): start an experiment, RUNNING at once on every instance.',
    resolve: async (_root, { input }, ctx) => ({
      experiment: await ctx.deps.services.experiments.create(ctx, {
        model: input.model,
        tenantId: input.tenantId == null ? null : String(input.tenantId),
        variants: input.variants,
        stickiness: input.stickiness ?? 'USER',
      }),
    }),
  }),
);

builder.mutationField('setExperimentStatus', (t) =>
  t.field({
    type: ExperimentPayload,
    args: { id: t.arg.id({ required: true }), status: t.arg({ type: ExperimentStatusEnum, required: true }) },
    description: 'Pause, resume or stop an experiment, on every instance at once.',
    resolve: async (_root, args, ctx) => ({ experiment: await ctx.deps.services.experiments.setStatus(ctx, String(args.id), args.status) }),
  }),
);
