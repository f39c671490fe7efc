import { builder } from '../../builder.ts';
import { TenantRef } from '../tenant/tenant.schema.ts';
import type { CredentialTestResult, InferenceConfigView, ModelOverride, ProviderCredentialStatus } from './inference-config.service.ts';

const ModelOverrideRef = builder.objectRef<ModelOverride>('ModelOverride');
ModelOverrideRef.implement({
  description: 'Requests for `model` are served by the configured model `target`.',
  fields: (t) => ({
    model: t.exposeString('model', { description: 'The name clients ask for.' }),
    target: t.exposeString('target', { description: 'The configured model that serves it.' }),
  }),
});

export const InferenceConfigRef = builder.objectRef<InferenceConfigView>('InferenceConfig');
InferenceConfigRef.implement({
  description: "How a tenant's requests are routed: preferences over the platform's providers and models.",
  fields: (t) => ({
    tenantId: t.exposeID('tenantId'),
    preferredProvider: t.exposeString('preferredProvider', {
      nullable: true,
      description: 'Deployments on this provider are tried first; null: no preference.',
    }),
    autoFailover: t.exposeBoolean('autoFailover', { description: 'Retry a failed request on another deployment (default true).' }),
    modelOverrides: t.field({ type: [ModelOverrideRef], resolve: (config) => config.modelOverrides }),
    allowedModels: t.exposeStringList('allowedModels', {
      nullable: true,
      description: 'Only these requested model names are served; null: every configured model.',
    }),
    cacheEnabled: t.exposeBoolean('cacheEnabled', { description: 'Serve repeated identical requests from the cache (default false).' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', nullable: true, description: 'Null while the tenant runs on the defaults.' }),
  }),
});

const ProviderCredentialStatusRef = builder.objectRef<ProviderCredentialStatus>('ProviderCredentialStatus');
ProviderCredentialStatusRef.implement({
  description: 'Whether the tenant brought its own key for a provider. The key itself is never returned.',
  fields: (t) => ({
    provider: t.exposeString('provider'),
    configured: t.exposeBoolean('configured'),
    last4: t.exposeString('last4', {
      nullable: true,
      description: 'Last four characters of the key, to tell keys apart; null when none is set or the key is shorter than 12 characters.',
    }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.objectFields(TenantRef, (t) => ({
  inferenceConfig: t.field({
    type: InferenceConfigRef,
    description: "The tenant's routing preferences (defaults until first updated).",
    resolve: (tenant, _args, ctx) => ctx.deps.services.inferenceConfig.getConfig(ctx.principal, tenant.id),
  }),
  providerCredentials: t.field({
    type: [ProviderCredentialStatusRef],
    description: 'One entry per configured provider: whether the tenant set its own key for it.',
    resolve: (tenant, _args, ctx) => ctx.deps.services.inferenceConfig.credentialStatuses(ctx.principal, tenant.id),
  }),
}));

const ModelOverrideInput = builder.inputType('ModelOverrideInput', {
  fields: (t) => ({
    model: t.string({ required: true, description: 'The name clients ask for (any name, e.g. an alias).' }),
    target: t.string({ required: true, description: 'A configured model.' }),
  }),
});

const UpdateInferenceConfigInput = builder.inputType('UpdateInferenceConfigInput', {
  description: 'Omitted fields keep their value; null puts a field back to its default.',
  fields: (t) => ({
    tenantId: t.id({ required: true }),
    preferredProvider: t.string({ description: 'A configured provider, or null for no preference.' }),
    autoFailover: t.boolean(),
    modelOverrides: t.field({ type: [ModelOverrideInput], description: 'Replaces the whole list.' }),
    allowedModels: t.stringList({ description: 'Configured models or overridden names; null allows every configured model.' }),
    cacheEnabled: t.boolean(),
  }),
});

const UpdateInferenceConfigPayload = builder.objectRef<{ inferenceConfig: InferenceConfigView }>('UpdateInferenceConfigPayload');
UpdateInferenceConfigPayload.implement({
  fields: (t) => ({ inferenceConfig: t.field({ type: InferenceConfigRef, resolve: (payload) => payload.inferenceConfig }) }),
});

builder.mutationField('updateInferenceConfig', (t) =>
  t.field({
    type: UpdateInferenceConfigPayload,
    args: { input: t.arg({ type: UpdateInferenceConfigInput, required: true }) },
    description: "Tenant admins and the platform. Providers and models are checked against the gateway's configuration.",
    resolve: async (_root, { input }, ctx) => ({
      inferenceConfig: await ctx.deps.services.inferenceConfig.updateConfig(ctx, input),
    }),
  }),
);

const SetProviderCredentialInput = builder.inputType('SetProviderCredentialInput', {
  fields: (t) => ({
    tenantId: t.id({ required: true }),
    provider: t.string({ required: true, description: 'A provider of the gateway configuration.' }),
    apiKey: t.string({ required: true, description: 'Stored encrypted; never returned.' }),
  }),
});

const ProviderCredentialPayload = builder.objectRef<{ credential: ProviderCredentialStatus }>('ProviderCredentialPayload');
ProviderCredentialPayload.implement({
  fields: (t) => ({
    credential: t.field({ type: ProviderCredentialStatusRef, resolve: (payload) => payload.credential }),
  }),
});

const RemoveProviderCredentialPayload = builder.objectRef<{ credential: ProviderCredentialStatus; removed: boolean }>(
  'RemoveProviderCredentialPayload',
);
RemoveProviderCredentialPayload.implement({
  fields: (t) => ({
    removed: t.exposeBoolean('removed', { description: 'False when no key was set.' }),
    credential: t.field({ type: ProviderCredentialStatusRef, resolve: (payload) => payload.credential }),
  }),
});

builder.mutationField('setProviderCredential', (t) =>
  t.field({
    type: ProviderCredentialPayload,
    args: { input: t.arg({ type: SetProviderCredentialInput, required: true }) },
    description: "Sets or replaces the tenant's own key for a provider (tenant admins and the platform).",
    resolve: async (_root, { input }, ctx) => ({ credential: await ctx.deps.services.inferenceConfig.setCredential(ctx, input) }),
  }),
);

builder.mutationField('removeProviderCredential', (t) =>
  t.field({
    type: RemoveProviderCredentialPayload,
    args: { tenantId: t.arg.id({ required: true }), provider: t.arg.string({ required: true }) },
    description: "Removes the tenant's key for a provider; its requests use the provider's own key again.",
    resolve: (_root, args, ctx) => ctx.deps.services.inferenceConfig.removeCredential(ctx, args.tenantId, args.provider),
  }),
);

const ProviderCredentialTestResultRef = builder.objectRef<CredentialTestResult>('ProviderCredentialTestResult');
ProviderCredentialTestResultRef.implement({
  fields: (t) => ({
    provider: t.exposeString('provider'),
    ok: t.exposeBoolean('ok'),
    message: t.exposeString('message'),
    latencyMs: t.exposeInt('latencyMs'),
  }),
});

builder.mutationField('testProviderCredential', (t) =>
  t.field({
    type: ProviderCredentialTestResultRef,
    args: {
      tenantId: t.arg.id({ required: true }),
      provider: t.arg.string({ required: true }),
      apiKey: t.arg.string({ description: 'A key to test before saving it: used for this call only, never stored or logged. Omitted: the stored key.' }),
    },
    description: "Calls the provider's model list with the stored key (or the apiKey given) and reports whether it was accepted.",
    resolve: (_root, args, ctx) => ctx.deps.services.inferenceConfig.testCredential(ctx, args.tenantId, args.provider, args.apiKey),
  }),
);
