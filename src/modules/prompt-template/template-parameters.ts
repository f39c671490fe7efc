import { z } from 'zod';
import { badInput } from '../../shared/errors.ts';

/** A template's default request fields, in OpenAI's spelling: they go upstream with the rendered messages. */
export const templateParametersSchema = z.strictObject({
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  max_tokens: z.number().int().positive().optional(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).optional(),
  seed: z.number().int().optional(),
  presence_penalty: z.number().min(-2).max(2).optional(),
  frequency_penalty: z.number().min(-2).max(2).optional(),
  response_format: z.record(z.string(), z.unknown()).optional(),
});

export type TemplateParameters = z.infer<typeof templateParametersSchema>;

/** The parameters, or an error naming each field at fault. */
export function parseTemplateParameters(value: unknown): TemplateParameters {
  const result = templateParametersSchema.safeParse(value ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const at = ['parameters', ...issue.path.map(String)].join('.');
    return issue.code === 'unrecognized_keys' ? `parameters: unknown fields ${issue.keys.join(', ')}` : `${at}: ${issue.message}`;
  });
  throw badInput(problems.join('; '), { field: 'parameters' });
}
