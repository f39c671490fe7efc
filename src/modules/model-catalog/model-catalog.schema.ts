import { builder } from '../../builder.ts';
import type { DeploymentHealth } from '../../router/deployment-state.ts';
import type { ModelInfo } from '../../router/router.ts';
import { requirePlatformAdmin } from '../identity/index.ts';
import { completionCaller } from '../completion/index.ts';
import { ModelPriceVersionRef } from '../pricing/model-price.schema.ts';

const ModelPriceRef = builder.objectRef<NonNullable<ModelInfo['price']>>('ModelPrice');
ModelPriceRef.implement({
  fields: (t) => ({
    inputPerMillion: t.exposeString('inputPerMillion', { description: 'Decimal string per million prompt tokens.' }),
    outputPerMillion: t.exposeString('outputPerMillion', { description: 'Decimal string per million completion tokens.' }),
    currency: t.exposeString('currency'),
  }),
});

export const ModelRef = builder.objectRef<ModelInfo>('Model');
ModelRef.implement({
  description: 'A model the caller may ask for, with its price.',
  fields: (t) => ({
    name: t.exposeString('name'),
    servedBy: t.exposeString('servedBy', { description: "The configured model serving this name (differs under the tenant's override)." }),
    kind: t.exposeString('kind', { description: 'chat or embedding' }),
    contextWindow: t.exposeInt('contextWindow', { nullable: true }),
    price: t.field({
      type: ModelPriceRef,
      nullable: true,
      description: 'The price in force now: the latest version set with setModelPrice, else the configured one.',
      resolve: (model, _args, ctx) => {
        const stored = ctx.deps.prices.storedVersion(model.servedBy);
        return stored ? { inputPerMillion: stored.input_per_million, outputPerMillion: stored.output_per_million, currency: stored.currency } : (model.price ?? null);
      },
    }),
    available: t.exposeBoolean('available', { description: "False while every deployment's circuit breaker is open." }),
  }),
});

builder.queryField('models', (t) =>
  t.field({
    type: [ModelRef],
    description: "The models the caller's tenant may use (all configured models for the platform admin without X-Tenant-ID).",
    resolve: (_root, _args, ctx) => {
      if (ctx.principal.kind === 'platform' && ctx.principal.tenantId === undefined) return ctx.deps.router.models();
      return ctx.deps.services.completions.models(completionCaller(ctx.principal, ctx.requestId));
    },
  }),
);

const BreakerStateRef = builder.enumType('BreakerState', {
  values: { CLOSED: { value: 'closed' }, OPEN: { value: 'open' }, HALF_OPEN: { value: 'half-open' } } as const,
});

const DeploymentHealthRef = builder.objectRef<DeploymentHealth>('DeploymentHealth');
DeploymentHealthRef.implement({
  description: 'One deployment (a provider serving an upstream model) as the router sees it now.',
  fields: (t) => ({
    name: t.exposeString('name'),
    provider: t.exposeString('provider'),
    model: t.exposeString('model'),
    servesModels: t.exposeStringList('servesModels'),
    healthy: t.exposeBoolean('healthy', { nullable: true, description: 'Result of the last probe; null before the first.' }),
    lastCheckedAt: t.expose('lastCheckedAt', { type: 'DateTime', nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true }),
    breaker: t.field({ type: BreakerStateRef, resolve: (d) => d.breaker }),
    consecutiveFailures: t.exposeInt('consecutiveFailures'),
    inflight: t.exposeInt('inflight'),
    latencyMs: t.exposeFloat('latencyMs', { nullable: true, description: 'Moving average of time to first token.' }),
    retryAfterUntil: t.expose('retryAfterUntil', { type: 'DateTime', nullable: true }),
  }),
});

builder.queryField('providers', (t) =>
  t.field({
    type: [DeploymentHealthRef],
    description: 'Health, breaker state, in-flight requests and latency of every deployment (platform admin only).',
    resolve: (_root, _args, ctx) => {
      requirePlatformAdmin(ctx.principal);
      return ctx.deps.router.health();
    },
  }),
);

builder.objectField(ModelRef, 'priceVersions', (t) =>
  t.field({
    type: [ModelPriceVersionRef],
    description: 'Platform admin only: every version set with setModelPrice, oldest first, including ones still to take effect. Before the first, the configured price applies.',
    resolve: (model, _args, ctx) => {
      requirePlatformAdmin(ctx.principal);
      return ctx.deps.services.modelPrices.versions(model.servedBy);
    },
  }),
);
