import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppDeps } from '../../deps.ts';
import type { ChatInput } from '../../modules/completion/index.ts';
import type { ChatMessage, TokenUsage, ToolCall } from '../../providers/provider.ts';
import { randomId } from '../../shared/ids.ts';
import type { CompletionCaller } from '../../modules/completion/index.ts';
import { sendJson, sendJsonText } from '../respond.ts';
import { openAiError } from './error-response.ts';
import { readJsonBody } from './read-json-body.ts';
import { chatBodyFor, promptOf, responsesRequestSchema, type ResponsesRequest } from './responses-request.ts';
import { handedToCompletions } from '../../observability/telemetry.ts';
import { clientGoneSignal, shimCaller } from './shim-context.ts';
import { SseWriter } from './sse-writer.ts';

// POST /v1/responses: passed through to upstreams that serve the Responses API (every deployment of the
// model has `responses: true`), otherwise served through Chat Completions. Either way the same routing,
// limits, quotas and exactly one usage event as a chat request.

type Item = Record<string, unknown>;

function usageJson(usage: TokenUsage) {
  return {
    input_tokens: usage.promptTokens,
    input_tokens_details: { cached_tokens: usage.cachedTokens ?? 0 },
    output_tokens: usage.completionTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
    total_tokens: usage.totalTokens,
  };
}

const messageItem = (id: string, text: string, status: string): Item => ({
  type: 'message',
  id,
  status,
  role: 'assistant',
  content: status === 'in_progress' ? [] : [{ type: 'output_text', text, annotations: [] }],
});

const callItem = (id: string, call: ToolCall, status: string): Item => ({
  type: 'function_call',
  id,
  call_id: call.id,
  name: call.function.name,
  arguments: call.function.arguments,
  status,
});

function responseJson(id: string, created: number, request: ResponsesRequest, output: Item[], finishReason: string | null | undefined, usage: TokenUsage | undefined): Item {
  const done = usage !== undefined;
  const incomplete = finishReason === 'length';
  return {
    id,
    object: 'response',
    created_at: created,
    status: !done ? 'in_progress' : incomplete ? 'incomplete' : 'completed',
    incomplete_details: incomplete ? { reason: 'max_output_tokens' } : null,
    error: null,
    model: request.model,
    instructions: request.instructions ?? null,
    output,
    tools: request.tools ?? [],
    tool_choice: request.tool_choice ?? 'auto',
    parallel_tool_calls: true,
    temperature: request.temperature ?? null,
    top_p: request.top_p ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    previous_response_id: null,
    store: false,
    usage: usage ? usageJson(usage) : null,
  };
}

/** A Responses request as it came, to an upstream that serves the API: the answer and its events relayed, `model` rewritten. */
async function passedThrough(deps: AppDeps, res: ServerResponse, requestId: string, caller: CompletionCaller, request: ResponsesRequest, signal: AbortSignal): Promise<void> {
  const input: ChatInput = {
    model: request.model,
    messages: promptOf(request),
    maxTokens: request.max_output_tokens ?? undefined,
    temperature: request.temperature ?? undefined,
    responses: request,
  };
  const service = deps.services.completions;
  if (!request.stream) {
    const result = await service.chat(caller, input, signal);
    if (!result.wire) throw new Error('a Responses answer passed through without its body');
    sendJsonText(res, 200, result.wire, result.headers);
    return;
  }
  const stream = await service.streamChat(caller, input, signal);
  const sse = new SseWriter(res, stream.headers);
  try {
    for await (const chunk of stream) if (chunk.wire) sse.relay(chunk.wire);
    sse.end();
  } catch (error) {
    const { body } = openAiError(error, deps.logger, requestId);
    sse.relay(`event: error\ndata: ${JSON.stringify({ type: 'error', code: body.error.code, message: body.error.message, param: body.error.param })}\n\n`);
    sse.end();
  }
}

export async function responses(deps: AppDeps, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  const caller = await shimCaller(deps, req, requestId);
  const request = await readJsonBody(req, responsesRequestSchema, deps.config.server.maxBodyBytes);
  if (await deps.services.completions.servesResponses(caller, request.model)) {
    await passedThrough(deps, res, requestId, caller, request, clientGoneSignal(res));
    return;
  }
  const wire = chatBodyFor(request);
  const input: ChatInput = {
    model: request.model,
    messages: wire.messages as ChatMessage[],
    maxTokens: request.max_output_tokens ?? undefined,
    temperature: request.temperature ?? undefined,
    wire,
  };
  // From here the completion service writes this request's log line.
  handedToCompletions(req);
  const signal = clientGoneSignal(res);
  const service = deps.services.completions;
  const id = `resp_${randomId(24)}`;
  const created = Math.floor(Date.now() / 1000);
  if (!request.stream) {
    const result = await service.chat(caller, input, signal);
    const output: Item[] = [];
    if (result.content) output.push(messageItem(`msg_${randomId(24)}`, result.content, 'completed'));
    for (const call of result.toolCalls ?? []) output.push(callItem(`fc_${randomId(24)}`, call, 'completed'));
    sendJson(res, 200, responseJson(id, created, request, output, result.finishReason, result.usage), result.headers);
    return;
  }

  const stream = await service.streamChat(caller, input, signal);
  const sse = new SseWriter(res, stream.headers);
  let sequence = 0;
  const send = (type: string, fields: Item) => sse.relay(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...fields })}\n\n`);
  const output: Item[] = [];
  let message: { id: string; index: number; text: string } | undefined;
  const calls = new Map<number, { id: string; index: number; call: ToolCall }>();
  send('response.created', { response: responseJson(id, created, request, [], null, undefined) });
  send('response.in_progress', { response: responseJson(id, created, request, [], null, undefined) });
  try {
    let finishReason: string | null | undefined;
    let usage: TokenUsage | undefined;
    for await (const chunk of stream) {
      if (chunk.delta) {
        if (!message) {
          message = { id: `msg_${randomId(24)}`, index: output.length, text: '' };
          output.push(messageItem(message.id, '', 'in_progress'));
          send('response.output_item.added', { output_index: message.index, item: output[message.index] });
          send('response.content_part.added', { item_id: message.id, output_index: message.index, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
        }
        message.text += chunk.delta;
        send('response.output_text.delta', { item_id: message.id, output_index: message.index, content_index: 0, delta: chunk.delta });
      }
      for (const piece of chunk.toolCalls ?? []) {
        let open = calls.get(piece.index);
        if (!open) {
          open = { id: `fc_${randomId(24)}`, index: output.length, call: { id: piece.id ?? `call_${randomId(24)}`, type: 'function', function: { name: piece.function?.name ?? '', arguments: '' } } };
          calls.set(piece.index, open);
          output.push(callItem(open.id, open.call, 'in_progress'));
          send('response.output_item.added', { output_index: open.index, item: output[open.index] });
        }
        const delta = piece.function?.arguments;
        if (delta) {
          open.call.function.arguments += delta;
          send('response.function_call_arguments.delta', { item_id: open.id, output_index: open.index, delta });
        }
      }
      if (chunk.usage) {
        usage = chunk.usage;
        finishReason = chunk.finishReason;
      }
    }
    if (message) {
      output[message.index] = messageItem(message.id, message.text, 'completed');
      send('response.output_text.done', { item_id: message.id, output_index: message.index, content_index: 0, text: message.text });
      send('response.content_part.done', { item_id: message.id, output_index: message.index, content_index: 0, part: { type: 'output_text', text: message.text, annotations: [] } });
      send('response.output_item.done', { output_index: message.index, item: output[message.index] });
    }
    for (const open of calls.values()) {
      output[open.index] = callItem(open.id, open.call, 'completed');
      send('response.function_call_arguments.done', { item_id: open.id, output_index: open.index, arguments: open.call.function.arguments });
      send('response.output_item.done', { output_index: open.index, item: output[open.index] });
    }
    send('response.completed', { response: responseJson(id, created, request, output, finishReason, usage) });
    sse.end();
  } catch (error) {
    const { body } = openAiError(error, deps.logger, requestId);
    send('error', { code: body.error.code, message: body.error.message, param: body.error.param });
    sse.end();
  }
}
