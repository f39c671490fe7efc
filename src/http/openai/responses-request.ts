import { z } from 'zod';
import type { ChatMessage, ContentPart, ToolCall } from '../../providers/provider.ts';
import { badInput } from '../../shared/errors.ts';
import { modelName } from './request-schemas.ts';

// The Responses API's request. Upstreams that serve the API get it as it came; for the others it is
// translated to Chat Completions (text, images, tools, a response format). Conversation state is the
// upstream's: stored responses and previous_response_id are refused by name where it is translated.

const inputContent = z.union([
  z.string(),
  z.array(z.looseObject({ type: z.string().min(1), text: z.string().optional(), image_url: z.string().optional(), detail: z.string().optional() })),
]);

const inputItem = z.looseObject({
  type: z.string().optional(),
  role: z.string().optional(),
  content: inputContent.optional(),
  call_id: z.string().optional(),
  name: z.string().optional(),
  arguments: z.string().optional(),
  output: z.string().optional(),
});

const functionTool = z.looseObject({ type: z.string(), name: z.string().optional(), description: z.string().optional(), parameters: z.unknown().optional(), strict: z.boolean().nullable().optional() });

export const responsesRequestSchema = z.looseObject({
  model: modelName,
  input: z.union([z.string(), z.array(inputItem).min(1)]),
  instructions: z.string().nullable().optional(),
  tools: z.array(functionTool).optional(),
  tool_choice: z.union([z.string(), z.looseObject({ type: z.string(), name: z.string().optional() })]).optional(),
  max_output_tokens: z.number().int().positive().nullable().optional(),
  temperature: z.number().min(0).nullable().optional(),
  top_p: z.number().nullable().optional(),
  text: z.looseObject({ format: z.looseObject({ type: z.string(), name: z.string().optional(), schema: z.unknown().optional(), strict: z.boolean().nullable().optional() }).optional() }).nullable().optional(),
  reasoning: z.looseObject({ effort: z.string().nullable().optional() }).nullable().optional(),
  stream: z.boolean().nullable().optional(),
  previous_response_id: z.string().nullable().optional(),
  store: z.boolean().nullable().optional(),
});

export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;

function contentOf(content: z.infer<typeof inputContent> | undefined, at: string): string | ContentPart[] {
  if (content === undefined) return '';
  if (typeof content === 'string') return content;
  return content.map((part, j): ContentPart => {
    if (part.type === 'input_text' || part.type === 'output_text') return { type: 'text', text: part.text ?? '' };
    if (part.type === 'input_image' && part.image_url) return { type: 'image_url', image_url: part.detail ? { url: part.image_url, detail: part.detail } : { url: part.image_url } };
    throw badInput(`${at}.content[${j}].type "${part.type}" is not served here (input_text, input_image with image_url, output_text are)`, { param: `${at}.content[${j}].type` });
  });
}

function messagesOf(request: ResponsesRequest): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (request.instructions) messages.push({ role: 'system', content: request.instructions });
  if (typeof request.input === 'string') return [...messages, { role: 'user', content: request.input }];
  request.input.forEach((item, i) => {
    const at = `input[${i}]`;
    const type = item.type ?? 'message';
    if (type === 'message') {
      if (!item.role) throw badInput(`${at}.role is required`, { param: `${at}.role` });
      messages.push({ role: item.role, content: contentOf(item.content, at) });
    } else if (type === 'function_call') {
      const call: ToolCall = { id: item.call_id ?? '', type: 'function', function: { name: item.name ?? '', arguments: item.arguments ?? '{}' } };
      // Calls in a row are one assistant turn, as Chat Completions has them.
      const last = messages.at(-1);
      if (last?.role === 'assistant' && last.tool_calls) last.tool_calls.push(call);
      else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
    } else if (type === 'function_call_output') {
      messages.push({ role: 'tool', tool_call_id: item.call_id ?? '', content: item.output ?? '' });
    } else {
      throw badInput(`${at}.type "${type}" is not served here (message, function_call, function_call_output are)`, { param: `${at}.type` });
    }
  });
  return messages;
}

function responseFormat(request: ResponsesRequest): unknown {
  const format = request.text?.format;
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_schema') return { type: 'json_schema', json_schema: { name: format.name ?? 'response', schema: format.schema, ...(format.strict == null ? {} : { strict: format.strict }) } };
  return { type: format.type };
}

/**
 * What limits estimate a passed-through request's prompt from, by size: its instructions and input as
 * they came (items the translation does not know included).
 */
export function promptOf(request: ResponsesRequest): ChatMessage[] {
  const input = typeof request.input === 'string' ? request.input : JSON.stringify(request.input);
  return [...(request.instructions ? [{ role: 'system', content: request.instructions }] : []), { role: 'user', content: input }];
}

/** The Chat Completions request that answers a Responses request. */
export function chatBodyFor(request: ResponsesRequest): Record<string, unknown> {
  if (request.previous_response_id) {
    throw badInput('previous_response_id: responses are not stored for this model (its upstreams do not serve the Responses API); send the whole conversation in input', { param: 'previous_response_id' });
  }
  if (request.store === true) {
    throw badInput('store: responses are not stored for this model (its upstreams do not serve the Responses API); leave store out or set it to false', { param: 'store' });
  }
  const body: Record<string, unknown> = { model: request.model, messages: messagesOf(request) };
  const tools = request.tools?.map((tool, i) => {
    if (tool.type !== 'function') throw badInput(`tools[${i}].type "${tool.type}" is not served here (function is)`, { param: `tools[${i}].type` });
    return { type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.parameters, ...(tool.strict == null ? {} : { strict: tool.strict }) } };
  });
  if (tools?.length) body.tools = tools;
  const choice = request.tool_choice;
  if (choice !== undefined) body.tool_choice = typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
  if (request.max_output_tokens != null) body.max_completion_tokens = request.max_output_tokens;
  if (request.temperature != null) body.temperature = request.temperature;
  if (request.top_p != null) body.top_p = request.top_p;
  const format = responseFormat(request);
  if (format !== undefined) body.response_format = format;
  if (request.reasoning?.effort) body.reasoning_effort = request.reasoning.effort;
  if (request.stream) body.stream = true;
  return body;
}
