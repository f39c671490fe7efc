import { Kind, type FragmentDefinitionNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import { builder } from '../../builder.ts';
import { badInput } from '../../shared/errors.ts';
import { TenantRef } from '../tenant/tenant.schema.ts';
import type { UsageEvent } from './usage-event.ts';
import type { CacheSavings, CostAmount, DateRange, LatencyStats, TenantUsage, UsageBucket, UsageFilter, UsageReport, UsageTotals } from './usage-store.ts';
import { formatMicros } from './usage-report.ts';
import { encodeEventCursor } from './usage.service.ts';

const UsageGroupByEnum = builder.enumType('UsageGroupBy', {
  description: 'How a usage report splits its range: by UTC hour, day or month (every bucket listed, empty ones as zeros), or by a dimension.',
  values: {
    HOUR: { value: 'hour' },
    DAY: { value: 'day' },
    MONTH: { value: 'month' },
    MODEL: { value: 'model', description: 'The model the client asked for.' },
    PROVIDER: { value: 'provider' },
    API_KEY: { value: 'apiKey' },
    USER: { value: 'user' },
  } as const,
});

const UsageStatusEnum = builder.enumType('UsageStatus', {
  values: {
    OK: { value: 'ok' },
    ERROR: { value: 'error', description: 'The upstream or the gateway failed.' },
    REFUSED: { value: 'refused', description: 'Refused by a rate limit or quota before reaching a model.' },
    CANCELLED: { value: 'cancelled', description: 'The client went away mid-request; tokens streamed until then are counted.' },
  } as const,
});

const UsageKindEnum = builder.enumType('UsageKind', {
  values: { CHAT: { value: 'chat' }, COMPLETION: { value: 'completion' }, EMBEDDING: { value: 'embedding' } } as const,
});

const UsageRankByEnum = builder.enumType('UsageRankBy', {
  values: { TOKENS: { value: 'tokens' }, REQUESTS: { value: 'requests' }, COST: { value: 'cost' } } as const,
});

export const DateRangeInput = builder.inputType('DateRangeInput', {
  description: 'A half-open interval [from, to) in UTC.',
  fields: (t) => ({
    from: t.field({ type: 'DateTime', required: true }),
    to: t.field({ type: 'DateTime', required: true }),
  }),
});

const UsageFilterInput = builder.inputType('UsageFilter', {
  description: 'Each list, when given, keeps only events whose value is in it (a single value may be passed for a list).',
  fields: (t) => ({
    models: t.stringList({ description: 'Requested model names.' }),
    providers: t.stringList(),
    apiKeyIds: t.idList(),
    userIds: t.stringList(),
    statuses: t.field({ type: [UsageStatusEnum] }),
  }),
});

const DateRangeRef = builder.objectRef<DateRange>('DateRange');
DateRangeRef.implement({
  description: 'A half-open interval [from, to) in UTC.',
  fields: (t) => ({ from: t.expose('from', { type: 'DateTime' }), to: t.expose('to', { type: 'DateTime' }) }),
});

export const MoneyRef = builder.objectRef<CostAmount>('Money');
MoneyRef.implement({
  description: 'An exact amount of money.',
  fields: (t) => ({
    amount: t.string({ description: 'Decimal string with six decimals, e.g. "12.345678".', resolve: (m) => formatMicros(m.micros) }),
    amountMicros: t.string({ description: 'The same amount in millionths, as an integer string.', resolve: (m) => String(m.micros) }),
    currency: t.exposeString('currency', { description: 'ISO 4217 code.' }),
  }),
});

const LatencyStatsRef = builder.objectRef<LatencyStats>('LatencyStats');
LatencyStatsRef.implement({
  description: 'End-to-end latency of the requests that were not refused, in milliseconds (quantiles may be approximate).',
  fields: (t) => ({
    avgMs: t.exposeFloat('avgMs'),
    p50Ms: t.exposeFloat('p50Ms'),
    p95Ms: t.exposeFloat('p95Ms'),
  }),
});

const UsageTotalsRef = builder.objectRef<UsageTotals>('UsageTotals');
UsageTotalsRef.implement({
  fields: (t) => ({
    requests: t.exposeInt('requests'),
    promptTokens: t.exposeInt('promptTokens'),
    completionTokens: t.exposeInt('completionTokens'),
    totalTokens: t.exposeInt('totalTokens'),
    cachedTokens: t.exposeInt('cachedTokens', { description: "Prompt tokens the upstreams served from their prompt caches (prompt_tokens_details.cached_tokens)." }),
    reasoningTokens: t.exposeInt('reasoningTokens', { description: 'Completion tokens spent on reasoning (completion_tokens_details.reasoning_tokens).' }),
    errors: t.exposeInt('errors', { description: 'Requests that ended in an upstream or gateway error.' }),
    refused: t.exposeInt('refused', { description: 'Requests refused by a rate limit or quota.' }),
    cancelled: t.exposeInt('cancelled', { description: 'Requests the client abandoned mid-way.' }),
    cacheHits: t.exposeInt('cacheHits', { description: 'Requests answered from the response cache, without the upstream.' }),
    cacheHitRate: t.float({
      description: 'cacheHits / requests (0 with no requests).',
      resolve: (totals) => (totals.requests === 0 ? 0 : totals.cacheHits / totals.requests),
    }),
    estimatedRequests: t.exposeInt('estimated', { description: 'Requests whose token counts were estimated because the upstream gave none.' }),
    cost: t.field({
      type: MoneyRef,
      nullable: true,
      description: 'The total cost when every event is priced in one currency; null with none or several (see costs).',
      resolve: (totals) => (totals.costs.length === 1 ? (totals.costs[0] as CostAmount) : null),
    }),
    costs: t.field({ type: [MoneyRef], description: 'The total cost per currency.', resolve: (totals) => totals.costs }),
    latency: t.field({ type: LatencyStatsRef, nullable: true, description: 'Null when no request was served.', resolve: (totals) => totals.latency }),
  }),
});

const UsageBucketRef = builder.objectRef<UsageBucket>('UsageBucket');
UsageBucketRef.implement({
  fields: (t) => ({
    key: t.exposeString('key', {
      nullable: true,
      description: 'The model, provider, API key id or user id of the group (null: none), or the start of a time bucket.',
    }),
    start: t.expose('start', { type: 'DateTime', nullable: true, description: 'Time buckets: the start (inclusive).' }),
    end: t.expose('end', { type: 'DateTime', nullable: true, description: 'Time buckets: the end (exclusive).' }),
    totals: t.field({ type: UsageTotalsRef, resolve: (bucket) => bucket.totals }),
  }),
});

/** `tenantId` null: the platform's report over every tenant. */
type ReportResult = UsageReport & { range: DateRange; groupBy: UsageBucketGroupBy; tenantId: string | null; filter: UsageFilter };

const CacheSavingsRef = builder.objectRef<CacheSavings & { requests: number }>('CacheSavings');
CacheSavingsRef.implement({
  description: 'What the response cache spared the upstream over the range: answers it gave and the tokens the upstream did not generate.',
  fields: (t) => ({
    hits: t.exposeInt('hits'),
    hitRate: t.float({ description: 'hits / requests (0 with no requests).', resolve: (s) => (s.requests === 0 ? 0 : s.hits / s.requests) }),
    tokensSaved: t.exposeInt('tokensSaved', { description: 'Prompt and completion tokens of the answers served from the cache.' }),
  }),
});
type UsageBucketGroupBy = (typeof UsageGroupByEnum)['$inferType'] | null;

const UsageReportRef = builder.objectRef<ReportResult>('UsageReport');
UsageReportRef.implement({
  description: 'Usage over a range: totals, and buckets by the grouping asked for (none without groupBy).',
  fields: (t) => ({
    range: t.field({ type: DateRangeRef, resolve: (report) => report.range }),
    groupBy: t.field({ type: UsageGroupByEnum, nullable: true, resolve: (report) => report.groupBy }),
    totals: t.field({ type: UsageTotalsRef, resolve: (report) => report.totals }),
    buckets: t.field({ type: [UsageBucketRef], resolve: (report) => report.buckets }),
    cache: t.field({
      type: CacheSavingsRef,
      description: 'Cache hits, hit rate and tokens saved over the whole range (read from the events, so ask only when shown).',
      resolve: async (report, _args, ctx) => ({
        ...(await ctx.deps.services.usage.cacheSavings(ctx.principal, report.tenantId, { range: report.range, filter: report.filter })),
        requests: report.totals.requests,
      }),
    }),
  }),
});

const UsageEventRef = builder.objectRef<UsageEvent>('UsageEvent');
UsageEventRef.implement({
  description: 'One request, whatever its end.',
  fields: (t) => ({
    id: t.exposeID('eventId'),
    requestId: t.exposeString('requestId'),
    timestamp: t.expose('ts', { type: 'DateTime' }),
    userId: t.exposeString('userId', { nullable: true }),
    apiKeyId: t.exposeID('apiKeyId', { nullable: true }),
    requestedModel: t.exposeString('requestedModel'),
    servedModel: t.exposeString('servedModel', { nullable: true }),
    provider: t.exposeString('provider', { nullable: true }),
    deployment: t.exposeString('deployment', { nullable: true }),
    kind: t.field({ type: UsageKindEnum, resolve: (e) => e.kind }),
    promptTokens: t.exposeInt('promptTokens'),
    completionTokens: t.exposeInt('completionTokens'),
    totalTokens: t.exposeInt('totalTokens'),
    tokensEstimated: t.exposeBoolean('tokensEstimated', { description: "True when counted locally because the upstream gave no counts." }),
    cachedTokens: t.exposeInt('cachedTokens', { description: "Prompt tokens the upstream served from its prompt cache (0 when it reported none)." }),
    reasoningTokens: t.exposeInt('reasoningTokens', { description: 'Completion tokens spent on reasoning (0 when the upstream reported none).' }),
    ttftMs: t.exposeInt('ttftMs', { nullable: true, description: 'Time to first token.' }),
    latencyMs: t.exposeInt('latencyMs'),
    status: t.field({ type: UsageStatusEnum, resolve: (e) => e.status }),
    errorCode: t.exposeString('errorCode', { nullable: true }),
    cacheHit: t.exposeBoolean('cacheHit'),
    cost: t.field({ type: MoneyRef, resolve: (e) => ({ currency: e.currency, micros: e.costMicros }) }),
    node: t.exposeString('node', { description: 'The gateway instance that served it.' }),
    route: t.exposeString('route', { nullable: true, description: 'The route the requested name went through.' }),
    routeRule: t.exposeString('routeRule', { nullable: true, description: "The route's rule that chose the model (\"default\" when none did)." }),
    experimentId: t.exposeID('experimentId', { nullable: true, description: 'The experiment the request took part in.' }),
    variant: t.exposeString('variant', { nullable: true, description: "The experiment's variant it was given." }),
    templateName: t.exposeString('templateName', { nullable: true, description: 'The prompt template the request ran, if any.' }),
    templateVersion: t.exposeInt('templateVersion', { nullable: true, description: 'The version of that template.' }),
  }),
});

const TenantUsageRef = builder.objectRef<TenantUsage>('TenantUsage');
TenantUsageRef.implement({
  fields: (t) => ({
    tenantId: t.exposeID('tenantId'),
    tenant: t.field({
      type: TenantRef,
      nullable: true,
      resolve: (row, _args, ctx) => ctx.deps.services.tenants.get(ctx.principal, row.tenantId).catch(() => null),
    }),
    totals: t.field({ type: UsageTotalsRef, resolve: (row) => row.totals }),
  }),
});

function toFilter(input: { models?: string[] | null; providers?: string[] | null; apiKeyIds?: string[] | null; userIds?: string[] | null; statuses?: ('ok' | 'error' | 'refused' | 'cancelled')[] | null } | null | undefined): UsageFilter {
  return {
    models: input?.models ?? undefined,
    providers: input?.providers ?? undefined,
    apiKeyIds: input?.apiKeyIds ?? undefined,
    userIds: input?.userIds ?? undefined,
    statuses: input?.statuses ?? undefined,
  };
}

/** Whether the operation selects `name` anywhere below this field (fragments included). */
function selects(info: GraphQLResolveInfo, name: string): boolean {
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode | undefined): boolean =>
    (set?.selections ?? []).some((selection) => {
      if (selection.kind === Kind.FIELD) return selection.name.value === name || walk(selection.selectionSet);
      if (selection.kind === Kind.INLINE_FRAGMENT) return walk(selection.selectionSet);
      const fragmentName = selection.name.value;
      if (seen.has(fragmentName)) return false;
      seen.add(fragmentName);
      return walk((info.fragments[fragmentName] as FragmentDefinitionNode | undefined)?.selectionSet);
    });
  return info.fieldNodes.some((node) => walk(node.selectionSet));
}

builder.objectField(TenantRef, 'usage', (t) =>
  t.field({
    type: UsageReportRef,
    description: "The tenant's usage over a range (UTC, half-open), optionally grouped and filtered. Counts and tokens match the events exactly.",
    args: {
      range: t.arg({ type: DateRangeInput, required: true }),
      groupBy: t.arg({ type: UsageGroupByEnum }),
      filter: t.arg({ type: UsageFilterInput }),
    },
    resolve: async (tenant, args, ctx, info) => {
      const input = { range: args.range, groupBy: args.groupBy ?? null, filter: toFilter(args.filter), latency: selects(info, 'latency') };
      const report = await ctx.deps.services.usage.report(ctx.principal, tenant.id, input, ctx.loaders.usageReport);
      return { ...report, range: args.range, groupBy: input.groupBy, tenantId: tenant.id, filter: input.filter };
    },
  }),
);

builder.objectField(TenantRef, 'usageEvents', (t) =>
  t.connection({
    type: UsageEventRef,
    description: "The tenant's usage events, newest first (forward paging only; `first` defaults to 20, at most 100).",
    args: {
      filter: t.arg({ type: UsageFilterInput }),
      range: t.arg({ type: DateRangeInput }),
    },
    resolve: async (tenant, args, ctx) => {
      if (args.last != null || args.before != null) throw badInput('usageEvents pages forward only: use first and after', { field: 'last' });
      const { events, hasNextPage } = await ctx.deps.services.usage.events(ctx.principal, tenant.id, {
        range: args.range ?? null,
        filter: toFilter(args.filter),
        first: args.first ?? 20,
        after: args.after ?? null,
      });
      const edges = events.map((node) => ({ cursor: encodeEventCursor(node), node }));
      return {
        edges,
        pageInfo: { hasNextPage, hasPreviousPage: args.after != null, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
      };
    },
  }),
);

builder.queryField('platformUsage', (t) =>
  t.field({
    type: UsageReportRef,
    description: 'Usage across every tenant (platform admin only).',
    args: {
      range: t.arg({ type: DateRangeInput, required: true }),
      groupBy: t.arg({ type: UsageGroupByEnum }),
      filter: t.arg({ type: UsageFilterInput }),
    },
    resolve: async (_root, args, ctx, info) => {
      const input = { range: args.range, groupBy: args.groupBy ?? null, filter: toFilter(args.filter), latency: selects(info, 'latency') };
      const report = await ctx.deps.services.usage.platformReport(ctx.principal, input);
      return { ...report, range: args.range, groupBy: input.groupBy, tenantId: null, filter: input.filter };
    },
  }),
);

builder.queryField('usageTopTenants', (t) =>
  t.field({
    type: [TenantUsageRef],
    description: 'The tenants using the most over a range, by tokens, requests or cost in one currency (platform admin only).',
    args: {
      range: t.arg({ type: DateRangeInput, required: true }),
      by: t.arg({ type: UsageRankByEnum, defaultValue: 'tokens' }),
      currency: t.arg.string({ defaultValue: 'USD', description: 'Ranking by COST compares amounts in this currency.' }),
      first: t.arg.int({ defaultValue: 10, description: 'At most 100.' }),
    },
    resolve: (_root, args, ctx) =>
      ctx.deps.services.usage.topTenants(ctx.principal, { range: args.range, by: args.by ?? 'tokens', currency: args.currency ?? 'USD', first: args.first ?? 10 }),
  }),
);
