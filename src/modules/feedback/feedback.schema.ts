import { builder } from '../../builder.ts';
import { badInput } from '../../shared/errors.ts';
import { completionCaller } from '../completion/index.ts';
import type { RecordedFeedback } from './feedback.service.ts';

const FeedbackRef = builder.objectRef<RecordedFeedback>('Feedback');
FeedbackRef.implement({
  fields: (t) => ({
    requestId: t.exposeString('requestId'),
    metric: t.exposeString('metric'),
    value: t.exposeFloat('value', { description: 'Booleans are kept as 1 and 0.' }),
  }),
});

const RecordFeedbackInput = builder.inputType('RecordFeedbackInput', {
  fields: (t) => ({
    requestId: t.string({ required: true, description: "The X-Request-ID of one of the caller's tenant's requests." }),
    metric: t.string({ required: true, description: 'Up to 64 letters, digits, "_", ".", ":" or "-", e.g. thumbs_up.' }),
    value: t.float({ description: 'A number; give this or booleanValue.' }),
    booleanValue: t.boolean({ description: 'A yes/no judgement, kept as 1 or 0; give this or value.' }),
  }),
});

const RecordFeedbackPayload = builder.objectRef<{ feedback: RecordedFeedback }>('RecordFeedbackPayload');
RecordFeedbackPayload.implement({ fields: (t) => ({ feedback: t.field({ type: FeedbackRef, resolve: (payload) => payload.feedback }) }) });

builder.mutationField('recordFeedback', (t) =>
  t.field({
    type: RecordFeedbackPayload,
    args: { input: t.arg({ type: RecordFeedbackInput, required: true }) },
    description: "Feedback on one of the acting tenant's requests, as POST /v1/feedback: one value per request and metric, a repeat changes nothing.",
    resolve: async (_root, { input }, ctx) => {
      const value = input.value ?? input.booleanValue;
      if (value == null || (input.value != null && input.booleanValue != null)) {
        throw badInput('give exactly one of value and booleanValue', { field: 'value' });
      }
      const caller = completionCaller(ctx.principal, ctx.requestId);
      return { feedback: await ctx.deps.services.feedback.record(caller, { requestId: input.requestId, metric: input.metric, value }) };
    },
  }),
);
