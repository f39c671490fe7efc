import { z } from 'zod';
import { storedTextProblem } from '../../shared/stored-text.ts';

// The shim's request shapes, as OpenAI documents them. The same schemas validate requests and
// generate /v1/openapi.json, so the two cannot drift. Unknown fields are ignored, as OpenAI's
// own servers ignore fields a given model does not use.

/** The model name is recorded on the usage event: refused here if a store could not hold it. */
const modelName = z
  .string()
  .min(1)
  .superRefine((value, ctx) => {
    const problem = storedTextProblem(value, { maxLength: 256 });
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });

const textPart = z.object({ type: z.literal('text'), text: z.string() });

export const chatMessageSchema = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.union([z.string(), z.array(textPart)]).nullable().describe('Text, or an array of text parts'),
  name: z.string().optional(),
});

const stopSchema = z.union([z.string(), z.array(z.string()).max(4)]).nullable().optional();
const samplingFields = {
  max_tokens: z.number().int().positive().nullable().optional(),
  max_completion_tokens: z.number().int().positive().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  n: z.literal(1, 'only n=1 is supported').nullable().optional(),
  stop: stopSchema,
  seed: z.number().int().nullable().optional(),
  presence_penalty: z.number().min(-2).max(2).nullable().optional(),
  frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
  user: z.string().max(256).optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
};

export const chatCompletionRequestSchema = z
  .object({
    model: modelName,
    messages: z.array(chatMessageSchema).min(1),
    ...samplingFields,
  });

export const completionRequestSchema = z
  .object({
    model: modelName,
    prompt: z.union([z.string(), z.array(z.string()).length(1, 'only one prompt per request is supported')]),
    ...samplingFields,
  });

export const embeddingRequestSchema = z
  .object({
    model: modelName,
    input: z.union([z.string(), z.array(z.string()).min(1).max(2048)]),
    encoding_format: z.enum(['float', 'base64']).optional(),
    dimensions: z.number().int().positive().optional(),
    user: z.string().max(256).optional(),
  });

export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;
export type CompletionRequestBody = z.infer<typeof completionRequestSchema>;
export type EmbeddingRequestBody = z.infer<typeof embeddingRequestSchema>;

/** Flattens OpenAI's content parts to the plain text our providers take. */
export function messageText(content: z.infer<typeof chatMessageSchema>['content']): string {
  if (content === null) return '';
  return typeof content === 'string' ? content : content.map((part) => part.text).join('');
}
