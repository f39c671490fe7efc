import { z } from 'zod';
import { storedTextProblem } from '../../shared/stored-text.ts';

// The shim's request shapes, as OpenAI documents them. The same schemas validate requests and
// generate /v1/openapi.json, so the two cannot drift. Only what the gateway itself reads is checked
// (model, messages, stream, token budgets, temperature for the cache, n for limits); every other field
// travels to an OpenAI-compatible upstream as the client sent it.

/** The model name is recorded on the usage event: refused here if a store could not hold it. */
export const modelName = z
  .string()
  .min(1)
  .superRefine((value, ctx) => {
    const problem = storedTextProblem(value, { maxLength: 256 });
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });

const contentPart = z
  .looseObject({ type: z.string().min(1) })
  .describe('A content part: text, image_url (http(s) or data: URL, detail), input_audio, file...');

const toolCall = z.looseObject({
  id: z.string(),
  type: z.string(),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});

export const chatMessageSchema = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: z.union([z.string(), z.array(contentPart)]).nullable().optional().describe('Text, or an array of content parts'),
  name: z.string().optional(),
  tool_calls: z.array(toolCall).optional(),
  tool_call_id: z.string().optional(),
});

const streamFields = {
  stream: z.boolean().nullable().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
};

const budgetFields = {
  max_tokens: z.number().int().positive().nullable().optional(),
  temperature: z.number().min(0).nullable().optional(),
  n: z.number().int().positive().max(128).nullable().optional(),
};

export const chatCompletionRequestSchema = z.looseObject({
  model: modelName,
  messages: z.array(chatMessageSchema).min(1),
  max_completion_tokens: z.number().int().positive().nullable().optional(),
  tools: z.array(z.looseObject({ type: z.string() })).optional(),
  ...budgetFields,
  ...streamFields,
});

export const completionRequestSchema = z.looseObject({
  model: modelName,
  prompt: z.union([z.string(), z.array(z.string()).min(1)]).describe('A prompt, or several (one choice each)'),
  ...budgetFields,
  ...streamFields,
});

export const embeddingRequestSchema = z.looseObject({
  model: modelName,
  input: z.union([z.string(), z.array(z.string()).min(1).max(2048)]),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: z.number().int().positive().optional(),
  user: z.string().max(256).optional(),
});

export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;
export type CompletionRequestBody = z.infer<typeof completionRequestSchema>;
export type EmbeddingRequestBody = z.infer<typeof embeddingRequestSchema>;
