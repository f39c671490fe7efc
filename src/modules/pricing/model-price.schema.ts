import { builder } from '../../builder.ts';
import type { ModelPriceRow } from './model-price.table.ts';

export const ModelPriceVersionRef = builder.objectRef<ModelPriceRow>('ModelPriceVersion');
ModelPriceVersionRef.implement({
  description: "A version of a model's price, in force from effectiveFrom until the next version's: requests are priced at the version in force when served.",
  fields: (t) => ({
    model: t.exposeString('model'),
    effectiveFrom: t.expose('effective_from', { type: 'DateTime' }),
    inputPerMillion: t.exposeString('input_per_million', { description: 'Decimal string per million prompt tokens.' }),
    outputPerMillion: t.exposeString('output_per_million', { description: 'Decimal string per million completion tokens.' }),
    currency: t.exposeString('currency'),
  }),
});

const SetModelPriceInput = builder.inputType('SetModelPriceInput', {
  fields: (t) => ({
    model: t.string({ required: true, description: 'A configured model name.' }),
    inputPerMillion: t.string({ required: true, description: 'Decimal string per million prompt tokens, at most 6 decimals.' }),
    outputPerMillion: t.string({ required: true, description: 'Decimal string per million completion tokens.' }),
    currency: t.string({ required: true, description: 'ISO 4217 code.' }),
    effectiveFrom: t.field({ type: 'DateTime', description: 'When it takes effect: now (default) or later, never earlier.' }),
  }),
});

const SetModelPricePayload = builder.objectRef<{ versions: ModelPriceRow[] }>('SetModelPricePayload');
SetModelPricePayload.implement({ fields: (t) => ({ priceVersions: t.field({ type: [ModelPriceVersionRef], description: "The model's versions after the change.", resolve: (payload) => payload.versions }) }) });

builder.mutationField('setModelPrice', (t) =>
  t.field({
    type: SetModelPricePayload,
    args: { input: t.arg({ type: SetModelPriceInput, required: true }) },
    description: "Platform admin only: a new version of a model's price from effectiveFrom; requests served before it keep their price.",
    resolve: async (_root, { input }, ctx) => ({ versions: await ctx.deps.services.modelPrices.set(ctx, input) }),
  }),
);
