import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppDeps } from '../../deps.ts';
import type { ChatInput } from '../../modules/completion/completion.service.ts';
import { sendJson } from '../respond.ts';
import { chatCompletionRequestSchema, messageText, type ChatCompletionRequest } from './request-schemas.ts';
import { readJsonBody } from './read-json-body.ts';
import { clientGoneSignal, shimCaller } from './shim-context.ts';
import { sendCompletionStream } from './stream-response.ts';
import { usageJson } from './usage-json.ts';

/** `X-Tollgate-Cache: on|off` overrides the tenant's response-cache setting for one request. */
export function cacheChoice(req: IncomingMessage): boolean | undefined {
  const value = req.headers['x-tollgate-cache'];
  return value === 'on' ? true : value === 'off' ? false : undefined;
}

export function toChatInput(body: ChatCompletionRequest, cache?: boolean): ChatInput {
  const stop = body.stop ?? undefined;
  return {
    model: body.model,
    messages: body.messages.map((m) => ({ role: m.role === 'developer' ? 'system' : m.role, content: messageText(m.content) })),
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    stop: typeof stop === 'string' ? [stop] : stop,
    extra: pickDefined({ seed: body.seed, presence_penalty: body.presence_penalty, frequency_penalty: body.frequency_penalty }),
    cache,
  };
}

function pickDefined(values: Record<string, unknown>): Record<string, unknown> | undefined {
  const defined = Object.entries(values).filter(([, v]) => v !== undefined && v !== null);
  return defined.length ? Object.fromEntries(defined) : undefined;
}

export async function chatCompletions(deps: AppDeps, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  const caller = await shimCaller(deps, req, requestId);
  const body = await readJsonBody(req, chatCompletionRequestSchema, deps.config.server.maxBodyBytes);
  const signal = clientGoneSignal(res);
  const service = deps.services.completions;
  if (!body.stream) {
    const result = await service.chat(caller, toChatInput(body, cacheChoice(req)), signal);
    sendJson(
      res,
      200,
      {
        id: result.id,
        object: 'chat.completion',
        created: result.created,
        model: result.model,
        choices: [{ index: 0, message: { role: 'assistant', content: result.content }, logprobs: null, finish_reason: result.finishReason }],
        usage: usageJson(result.usage),
      },
      result.headers,
    );
    return;
  }

  const stream = await service.streamChat(caller, toChatInput(body), signal);
  // Every frame shares this prefix: serialised once per stream, not once per token.
  const prefix = `{"id":${JSON.stringify(stream.id)},"object":"chat.completion.chunk","created":${stream.created},"model":${JSON.stringify(stream.model)},"system_fingerprint":null,"choices":[`;
  await sendCompletionStream(
    deps,
    requestId,
    res,
    stream,
    {
      opening: `${prefix}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`,
      delta: (text) => `${prefix}{"index":0,"delta":{"content":${JSON.stringify(text)}},"logprobs":null,"finish_reason":null}]}`,
      finish: (reason) => `${prefix}{"index":0,"delta":{},"logprobs":null,"finish_reason":${JSON.stringify(reason)}}]}`,
      usage: (usage) => `${prefix}],"usage":${JSON.stringify(usageJson(usage))}}`,
    },
    body.stream_options?.include_usage === true,
  );
}
