import type { ServerResponse } from 'node:http';
import type { AppDeps } from '../../deps.ts';
import type { CompletionStream } from '../../modules/completion/completion-stream.ts';
import type { TokenUsage } from '../../providers/provider.ts';
import { openAiError } from './error-response.ts';
import { SseWriter } from './sse-writer.ts';

/** How one endpoint spells its stream frames (chat.completion.chunk or text_completion). */
export interface StreamFrames {
  /** Sent before the first token (chat's role frame), if any. */
  opening?: string;
  delta(text: string): string;
  finish(reason: string): string;
  usage(usage: TokenUsage): string;
}

/**
 * Streams a completion as OpenAI's SSE: a frame per delta, a finish frame, the usage frame when
 * asked for, then [DONE]. A stream that breaks after it started ends with an error frame.
 */
export async function sendCompletionStream(
  deps: AppDeps,
  requestId: string,
  res: ServerResponse,
  stream: CompletionStream,
  frames: StreamFrames,
  includeUsage: boolean,
): Promise<void> {
  const sse = new SseWriter(res, stream.headers);
  if (frames.opening) sse.send(frames.opening);
  try {
    for await (const chunk of stream) {
      if (chunk.delta) sse.send(frames.delta(chunk.delta));
      if (chunk.finishReason !== undefined || chunk.usage) {
        sse.send(frames.finish(chunk.finishReason ?? 'stop'));
        if (includeUsage && chunk.usage) sse.send(frames.usage(chunk.usage));
      }
    }
    sse.done();
  } catch (error) {
    sse.fail(openAiError(error, deps.logger, requestId).body);
  }
}
