import { builder } from '../../builder.ts';
import type { GraphQLContext } from '../../context.ts';
import { badInput } from '../../shared/errors.ts';
import { activeCaller, ChatCompletionChunkRef, ChatCompletionRef } from '../completion/completion.schema.ts';
import type { PromptTemplate, RunTemplateInput } from './prompt-template.service.ts';

const PromptTemplateRef = builder.objectRef<PromptTemplate>('PromptTemplate');
PromptTemplateRef.implement({
  description: 'One version of a named prompt template: messages with {{variables}}, the model or route it asks for, and default request fields.',
  fields: (t) => ({
    id: t.exposeID('id'),
    tenantId: t.exposeID('tenantId', { nullable: true, description: "Null for the platform's templates, offered to every tenant." }),
    name: t.exposeString('name'),
    version: t.exposeInt('version', { description: 'Saving a template again adds the next version; runs use the latest unless pinned.' }),
    system: t.exposeString('system', { nullable: true, description: 'The system message.' }),
    user: t.exposeString('user', { description: 'The user message.' }),
    model: t.exposeString('model', { description: 'The model or route name the template runs on.' }),
    parameters: t.field({ type: 'JSON', description: 'Default request fields in OpenAI spelling (temperature, max_tokens, top_p, stop, seed, penalties, response_format).', resolve: (template) => template.parameters }),
    variables: t.exposeStringList('variables', { description: 'The variables the messages use; a run must give exactly these.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    versions: t.field({
      type: [PromptTemplateRef],
      description: 'Every version of this template, newest first.',
      resolve: (template, _args, ctx) => ctx.deps.services.promptTemplates.versions(template),
    }),
  }),
});

/** The tenant named, else the caller's own; the platform admin without X-Tenant-ID means the platform's templates. */
function ownerOf(ctx: GraphQLContext, tenantId: string | null | undefined): string | null {
  if (tenantId != null) return tenantId;
  return ctx.principal.kind === 'anonymous' ? null : (ctx.principal.tenantId ?? null);
}

const SavePromptTemplateInput = builder.inputType('SavePromptTemplateInput', {
  fields: (t) => ({
    tenantId: t.id({ description: "The tenant whose template it is; omitted: the caller's tenant, or for the platform admin a platform template." }),
    name: t.string({ required: true }),
    system: t.string({ description: 'The system message, with {{variables}}.' }),
    user: t.string({ required: true, description: 'The user message, with {{variables}}.' }),
    model: t.string({ required: true, description: 'A model or route name.' }),
    parameters: t.field({ type: 'JSON', description: 'Default request fields in OpenAI spelling, e.g. { "temperature": 0, "max_tokens": 200 }.' }),
  }),
});

const SavePromptTemplatePayload = builder.objectRef<{ template: PromptTemplate }>('SavePromptTemplatePayload');
SavePromptTemplatePayload.implement({ fields: (t) => ({ template: t.field({ type: PromptTemplateRef, resolve: (payload) => payload.template }) }) });

builder.mutationField('savePromptTemplate', (t) =>
  t.field({
    type: SavePromptTemplatePayload,
    args: { input: t.arg({ type: SavePromptTemplateInput, required: true }) },
    description: "Saves a template as the next version of its name: the platform admin's for every tenant, or a tenant admin's for the tenant.",
    resolve: async (_root, { input }, ctx) => ({
      template: await ctx.deps.services.promptTemplates.save(ctx.principal, {
        tenantId: ownerOf(ctx, input.tenantId),
        name: input.name,
        system: input.system,
        user: input.user,
        model: input.model,
        parameters: input.parameters,
      }),
    }),
  }),
);

builder.queryField('promptTemplates', (t) =>
  t.field({
    type: [PromptTemplateRef],
    args: { tenantId: t.arg.id({ description: "Omitted: the caller's tenant, or for the platform admin the platform's templates." }) },
    description: "The latest version of each template a tenant may run (its own, and the platform's it has none of the same name of).",
    resolve: (_root, args, ctx) => ctx.deps.services.promptTemplates.list(ctx.principal, ownerOf(ctx, args.tenantId)),
  }),
);

builder.queryField('promptTemplate', (t) =>
  t.field({
    type: PromptTemplateRef,
    args: {
      name: t.arg.string({ required: true }),
      version: t.arg.int({ description: 'Omitted: the latest.' }),
      tenantId: t.arg.id({ description: "Omitted: the caller's tenant, or for the platform admin the platform's templates." }),
    },
    description: 'The template a run of this name would use (the tenant\'s own, else the platform\'s).',
    resolve: (_root, args, ctx) => ctx.deps.services.promptTemplates.get(ctx.principal, ownerOf(ctx, args.tenantId), args.name, args.version ?? undefined),
  }),
);

const RunPromptTemplateInput = builder.inputType('RunPromptTemplateInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    variables: t.field({ type: 'JSON', description: 'An object with a string, number or boolean for each variable the template uses, and no others.' }),
    version: t.int({ description: 'Pin a version; omitted: the latest.' }),
    cache: t.boolean({ description: "Serve an identical earlier answer (temperature 0 only); overrides the tenant's setting." }),
  }),
});

type RunShape = typeof RunPromptTemplateInput.$inferInput;

function runInput(input: RunShape, stream: boolean): RunTemplateInput {
  const variables = input.variables ?? {};
  if (typeof variables !== 'object' || variables === null || Array.isArray(variables)) throw badInput('variables must be an object', { field: 'variables' });
  if (input.version != null && input.version < 1) throw badInput('version must be 1 or more', { field: 'version' });
  return { name: input.name, variables: variables as Record<string, unknown>, version: input.version ?? undefined, stream, cache: input.cache ?? undefined };
}

builder.mutationField('runPromptTemplate', (t) =>
  t.field({
    type: ChatCompletionRef,
    args: { input: t.arg({ type: RunPromptTemplateInput, required: true }) },
    description: "Runs a template with its variables for the caller's tenant: a chat completion metered with the template and version.",
    resolve: async (_root, { input }, ctx) => {
      const run = await ctx.deps.services.promptTemplates.prepareRun(await activeCaller(ctx), runInput(input, false));
      return ctx.deps.services.completions.chat(run.caller, run.chat);
    },
  }),
);

builder.subscriptionField('promptTemplateRun', (t) =>
  t.field({
    type: ChatCompletionChunkRef,
    args: { input: t.arg({ type: RunPromptTemplateInput, required: true }) },
    description: 'Runs a template and streams the answer, one chunk per upstream delta; the last carries finishReason and usage.',
    subscribe: async (_root, { input }, ctx) => {
      const run = await ctx.deps.services.promptTemplates.prepareRun(await activeCaller(ctx), runInput(input, true));
      return ctx.deps.services.completions.streamChat(run.caller, run.chat);
    },
    resolve: (chunk) => chunk,
  }),
);
