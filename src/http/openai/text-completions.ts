import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppDeps } from '../../deps.ts';
import type { CompletionResult, CompletionStream, TextCompletionInput } from '../../modules/completion/index.ts';
import { sendJson, sendJsonText } from '../respond.ts';
import { cacheChoice } from './chat-completions.ts';
import { completionRequestSchema, type CompletionRequestBody } from './request-schemas.ts';
import { readJsonBody } from './read-json-body.ts';
import { relayedAnswer } from './relayed-answer.ts';
import { handedToCompletions } from '../../observability/telemetry.ts';
import { clientGoneSignal, shimCaller } from './shim-context.ts';
import { sendCompletionStream, type StreamFrames } from './stream-response.ts';
import { usageJson } from './usage-json.ts';

function toCompletionInput(body: CompletionRequestBody, cache?: boolean): TextCompletionInput {
  return {
    model: body.model,
    prompt: body.prompt,
    maxTokens: body.max_tokens ?? undefined,
    temperature: body.temperature ?? undefined,
    wire: body,
    cache,
  };
}

function completionJson(result: CompletionResult): Record<string, unknown> {
  return {
    id: result.id,
    object: 'text_completion',
    created: result.created,
    model: result.model,
    choices: [{ text: result.content, index: 0, logprobs: null, finish_reason: result.finishReason }],
    usage: usageJson(result.usage),
  };
}

export async function textCompletions(deps: AppDeps, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  const caller = await shimCaller(deps, req, requestId);
  const body = await readJsonBody(req, completionRequestSchema, deps.config.server.maxBodyBytes);
  // From here the completion service writes this request's log line.
  handedToCompletions(req);
  const signal = clientGoneSignal(res);
  const service = deps.services.completions;
  if (!body.stream) {
    const result = await service.complete(caller, toCompletionInput(body, cacheChoice(req)), signal);
    if (result.wire) sendJsonText(res, 200, relayedAnswer(result.wire, result), result.headers);
    else sendJson(res, 200, completionJson(result), result.headers);
    return;
  }
  const stream = await service.streamCompletion(caller, toCompletionInput(body, cacheChoice(req)), signal);
  await sendCompletionStream(deps, requestId, res, stream, textFrames, body.stream_options?.include_usage === true);
}

/** Frames for upstreams that speak another wire; they share one prefix, serialised once per stream. */
function textFrames(stream: CompletionStream): StreamFrames {
  const prefix = `{"id":${JSON.stringify(stream.id)},"object":"text_completion","created":${stream.created},"model":${JSON.stringify(stream.model)},"choices":[`;
  return {
    delta: (chunk) => `${prefix}{"text":${JSON.stringify(chunk.delta)},"index":0,"logprobs":null,"finish_reason":null}]}`,
    finish: (reason) => `${prefix}{"text":"","index":0,"logprobs":null,"finish_reason":${JSON.stringify(reason)}}]}`,
    usage: (usage) => `${prefix}],"usage":${JSON.stringify(usageJson(usage))}}`,
  };
}
