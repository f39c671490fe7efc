import { asObject, type JsonObject } from '../json-fields.ts';
import type { ChatMessage, ChatRequest, ContentPart, GenerationParams, ToolCall, WireRequest } from '../provider.ts';
import { ProviderError } from '../provider-error.ts';

// OpenAI's chat request in Ollama's native /api/chat shape. What Ollama cannot express is refused with
// a 4xx naming the field (relayed to the client as invalid_request_error), never dropped in silence.

/** OpenAI's sampling fields that Ollama reads inside `options`, under Ollama's names. */
const optionNames: Record<string, string> = {
  seed: 'seed',
  presence_penalty: 'presence_penalty',
  frequency_penalty: 'frequency_penalty',
  top_k: 'top_k',
  min_p: 'min_p',
  repetition_penalty: 'repeat_penalty',
};

const dataUrl = /^data:[^;,]+;base64,/;

function refuse(provider: string, field: string, why: string): ProviderError {
  const message = `${field}: ${why}`;
  return new ProviderError('client', provider, `${provider} cannot take the request: ${message}`, { status: 400, upstreamMessage: message });
}

function contentFields(content: string | ContentPart[] | null | undefined, at: string, provider: string): { content: string; images?: string[] } {
  if (typeof content === 'string') return { content };
  if (!Array.isArray(content)) return { content: '' };
  const texts: string[] = [];
  const images: string[] = [];
  content.forEach((part, j) => {
    if (part.type === 'text' && typeof part.text === 'string') texts.push(part.text);
    else if (part.type === 'image_url') {
      const url = part.image_url?.url ?? '';
      const prefix = dataUrl.exec(url);
      if (!prefix) throw refuse(provider, `${at}.content[${j}].image_url.url`, 'Ollama takes images only as base64 data: URLs');
      images.push(url.slice(prefix[0].length));
    } else throw refuse(provider, `${at}.content[${j}].type`, `Ollama cannot take a "${part.type}" part`);
  });
  // Text parts stay apart: joined with a line break rather than run together.
  return images.length > 0 ? { content: texts.join('\n'), images } : { content: texts.join('\n') };
}

function toolCallFields(calls: ToolCall[], at: string, provider: string): JsonObject[] {
  return calls.map((call, j) => {
    let args: unknown;
    try {
      args = JSON.parse(call.function.arguments || '{}');
    } catch {
      throw refuse(provider, `${at}.tool_calls[${j}].function.arguments`, 'is not JSON, and Ollama takes arguments as an object');
    }
    return { function: { name: call.function.name, arguments: args } };
  });
}

function ollamaMessages(messages: readonly ChatMessage[], provider: string): JsonObject[] {
  const toolNames = new Map<string, string>();
  return messages.map((message, i) => {
    const at = `messages[${i}]`;
    const role = message.role === 'developer' ? 'system' : message.role;
    const translated: JsonObject = { role, ...contentFields(message.content, at, provider) };
    if (message.tool_calls?.length) {
      for (const call of message.tool_calls) toolNames.set(call.id, call.function.name);
      translated.tool_calls = toolCallFields(message.tool_calls, at, provider);
    }
    if (role === 'tool' && message.tool_call_id !== undefined) {
      const name = toolNames.get(message.tool_call_id);
      if (name !== undefined) translated.tool_name = name;
    }
    return translated;
  });
}

function ollamaFormat(responseFormat: unknown, provider: string): unknown {
  const format = asObject(responseFormat);
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return 'json';
  if (format.type === 'json_schema') {
    const schema = asObject(format.json_schema)?.schema;
    if (asObject(schema)) return schema;
    throw refuse(provider, 'response_format.json_schema.schema', 'is missing');
  }
  throw refuse(provider, 'response_format.type', `Ollama cannot take "${String(format.type)}"`);
}

/**
 * Ollama's `options` for a request: sampling, seed and penalties from the typed fields and the
 * OpenAI request, over any options passed through `extra`.
 */
export function ollamaOptions(request: GenerationParams & { wire?: WireRequest | undefined }): JsonObject {
  const openAi: JsonObject = { ...request.extra, ...request.wire };
  const options: JsonObject = { ...asObject(request.extra?.options) };
  for (const [field, name] of Object.entries(optionNames)) {
    if (openAi[field] !== undefined && openAi[field] !== null) options[name] = openAi[field];
  }
  const topP = request.topP ?? openAi.top_p;
  const stop = request.stop ?? openAi.stop;
  if (request.maxTokens !== undefined) options.num_predict = request.maxTokens;
  if (request.temperature !== undefined) options.temperature = request.temperature;
  if (typeof topP === 'number') options.top_p = topP;
  if (stop !== undefined && stop !== null) options.stop = typeof stop === 'string' ? [stop] : stop;
  return options;
}

/**
 * The /api/chat body for a chat request: messages, tools, format and `options` (sampling, seed and
 * penalties), over the provider-specific fields passed through `extra`.
 */
export function ollamaChatBody(request: ChatRequest, stream: boolean, provider: string): JsonObject {
  const openAi: JsonObject = { ...request.extra, ...request.wire };
  const n = openAi.n;
  if (typeof n === 'number' && n > 1) throw refuse(provider, 'n', 'Ollama returns one choice per request');
  if (openAi.logprobs === true) throw refuse(provider, 'logprobs', 'Ollama does not return log probabilities');
  if (typeof openAi.top_logprobs === 'number') throw refuse(provider, 'top_logprobs', 'Ollama does not return log probabilities');

  const { options: _options, ...passed } = request.extra ?? {};
  const options = ollamaOptions(request);
  const body: JsonObject = { ...passed };
  delete body.tools;
  delete body.response_format;
  delete body.tool_choice;
  for (const field of Object.keys(optionNames)) delete body[field];
  body.model = request.model;
  body.messages = ollamaMessages(request.messages, provider);
  body.stream = stream;
  if (Array.isArray(openAi.tools) && openAi.tools.length > 0 && openAi.tool_choice !== 'none') body.tools = openAi.tools;
  const format = ollamaFormat(openAi.response_format, provider);
  if (format !== undefined) body.format = format;
  if (Object.keys(options).length > 0) body.options = options;
  return body;
}
