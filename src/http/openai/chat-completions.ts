import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppDeps } from '../../deps.ts';
import type { ChatInput, CompletionResult, CompletionStream } from '../../modules/completion/index.ts';
import type { ChatMessage, StreamChunk } from '../../providers/provider.ts';
import { sendJson, sendJsonText } from '../respond.ts';
import { chatCompletionRequestSchema, type ChatCompletionRequest } from './request-schemas.ts';
import { readJsonBody } from './read-json-body.ts';
import { relayedAnswer } from './relayed-answer.ts';
import { handedToCompletions } from '../../observability/telemetry.ts';
import { clientGoneSignal, shimCaller } from './shim-context.ts';
import { sendCompletionStream, type StreamFrames } from './stream-response.ts';
import { usageJson } from './usage-json.ts';

/** `X-Tollgate-Cache: on|off` overrides the tenant's response-cache setting for one request. */
export function cacheChoice(req: IncomingMessage): boolean | undefined {
  const value = req.headers['x-tollgate-cache'];
  return value === 'on' ? true : value === 'off' ? false : undefined;
}

/** What the gateway reads of the request, and the request itself to go upstream as it came. */
function toChatInput(body: ChatCompletionRequest, cache?: boolean): ChatInput {
  return {
    model: body.model,
    messages: body.messages as ChatMessage[],
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
    temperature: body.temperature ?? undefined,
    wire: body,
    cache,
  };
}

/** The answer as OpenAI spells it, for upstreams that speak another wire (the others are relayed). */
function completionJson(result: CompletionResult): Record<string, unknown> {
  const message: Record<string, unknown> = { role: 'assistant', content: result.content };
  if (result.toolCalls) message.tool_calls = result.toolCalls;
  if (result.reasoning !== undefined) message.reasoning_content = result.reasoning;
  return {
    id: result.id,
    object: 'chat.completion',
    created: result.created,
    model: result.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: result.finishReason }],
    usage: usageJson(result.usage),
  };
}

function deltaJson(chunk: StreamChunk): string {
  let delta = `{"content":${JSON.stringify(chunk.delta)}`;
  if (chunk.reasoning) delta += `,"reasoning_content":${JSON.stringify(chunk.reasoning)}`;
  if (chunk.toolCalls) delta += `,"tool_calls":${JSON.stringify(chunk.toolCalls)}`;
  return `${delta}}`;
}

/** A one-shot answer: relayed as the upstream wrote it when it spoke OpenAI's wire, else spelled out. */
export function sendChatAnswer(res: ServerResponse, result: CompletionResult): void {
  if (result.wire) sendJsonText(res, 200, relayedAnswer(result.wire, result), result.headers);
  else sendJson(res, 200, completionJson(result), result.headers);
}

export async function chatCompletions(deps: AppDeps, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  const caller = await shimCaller(deps, req, requestId);
  const body = await readJsonBody(req, chatCompletionRequestSchema, deps.config.server.maxBodyBytes);
  // From here the completion service writes this request's log line.
  handedToCompletions(req);
  const signal = clientGoneSignal(res);
  const service = deps.services.completions;
  if (!body.stream) {
    sendChatAnswer(res, await service.chat(caller, toChatInput(body, cacheChoice(req)), signal));
    return;
  }

  const stream = await service.streamChat(caller, toChatInput(body, cacheChoice(req)), signal);
  await sendChatStream(deps, requestId, res, stream, body.stream_options?.include_usage === true);
}

/** A chat completion stream as OpenAI's chat.completion.chunk SSE. */
export async function sendChatStream(deps: AppDeps, requestId: string, res: ServerResponse, stream: CompletionStream, includeUsage: boolean): Promise<void> {
  await sendCompletionStream(deps, requestId, res, stream, chatFrames, includeUsage);
}

/** Frames for upstreams that speak another wire; they share one prefix, serialised once per stream. */
function chatFrames(stream: CompletionStream): StreamFrames {
  const prefix = `{"id":${JSON.stringify(stream.id)},"object":"chat.completion.chunk","created":${stream.created},"model":${JSON.stringify(stream.model)},"system_fingerprint":null,"choices":[`;
  return {
    opening: `${prefix}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`,
    delta: (chunk) => `${prefix}{"index":0,"delta":${deltaJson(chunk)},"logprobs":null,"finish_reason":null}]}`,
    finish: (reason) => `${prefix}{"index":0,"delta":{},"logprobs":null,"finish_reason":${JSON.stringify(reason)}}]}`,
    usage: (usage) => `${prefix}],"usage":${JSON.stringify(usageJson(usage))}}`,
  };
}
