import type { ServerResponse } from 'node:http';
import type { AppDeps } from '../../deps.ts';
import type { CompletionStream } from '../../modules/completion/index.ts';
import type { StreamChunk, TokenUsage } from '../../providers/provider.ts';
import { openAiError } from './error-response.ts';
import { SseWriter, sseFrame } from './sse-writer.ts';

/** How one endpoint spells the frames it builds itself (chat.completion.chunk or text_completion). */
export interface StreamFrames {
  /** Sent before the first token (chat's role frame), if any. */
  opening?: string;
  delta(chunk: StreamChunk): string;
  finish(reason: string): string;
  usage(usage: TokenUsage): string;
}

/**
 * Streams a completion as OpenAI's SSE, then [DONE]. An upstream that speaks OpenAI's wire has its
 * frames relayed as the provider hands them over. Other upstreams' chunks are spelled here: a frame
 * per delta, a finish frame, the usage frame when asked for. A stream that breaks after it started
 * ends with an error frame. The frames are spelled out only when first needed, so a relayed stream
 * holds none of their strings while it is open.
 */
export async function sendCompletionStream(
  deps: AppDeps,
  requestId: string,
  res: ServerResponse,
  stream: CompletionStream,
  spellFrames: (stream: CompletionStream) => StreamFrames,
  includeUsage: boolean,
): Promise<void> {
  const sse = new SseWriter(res, stream.headers);
  let started = false;
  let relaying = false;
  // The frames of chunks taken without a wait leave in one write, before the next wait.
  let held = '';
  let spelled: StreamFrames | undefined;
  const frames = () => (spelled ??= spellFrames(stream));
  try {
    for (;;) {
      let next = stream.nextReady();
      if (next === undefined) {
        if (held) sse.relay(held);
        held = '';
        next = await stream.next();
      }
      if (next.done) break;
      const chunk = next.value;
      if (!started) {
        started = true;
        relaying = chunk.wire !== undefined;
        const opening = relaying ? undefined : frames().opening;
        if (opening) held += sseFrame(opening);
      }
      if (relaying) {
        if (chunk.wire) held += chunk.wire;
        // The upstream reported no usage: the client gets the gateway's count, as the usage event records it.
        if (includeUsage && chunk.usage?.estimated) held += sseFrame(frames().usage(chunk.usage));
        continue;
      }
      if (chunk.delta || chunk.toolCalls || chunk.reasoning) held += sseFrame(frames().delta(chunk));
      if (chunk.finishReason !== undefined || chunk.usage) {
        held += sseFrame(frames().finish(chunk.finishReason ?? 'stop'));
        if (includeUsage && chunk.usage) held += sseFrame(frames().usage(chunk.usage));
      }
    }
    if (held) sse.relay(held);
    sse.done();
  } catch (error) {
    if (held) sse.relay(held);
    sse.fail(openAiError(error, deps.logger, requestId).body);
  }
}
