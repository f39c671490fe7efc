import type { StreamChunk, TokenUsage, ToolCall, ToolCallDelta } from '../../providers/provider.ts';
import type { RoutedStream } from '../../router/routed-stream.ts';
import type { StreamSource } from './completion-stream.ts';
import type { CachedCompletion } from './response-cache.ts';

/**
 * A cached answer as a stream: one chunk with the whole text (and reasoning and tool calls), then the
 * finish with usage. The surfaces spell the frames themselves, as for upstreams of another wire.
 */
export function replayCachedStream(entry: CachedCompletion): StreamSource {
  const first: StreamChunk = { delta: entry.content };
  if (entry.reasoning) first.reasoning = entry.reasoning;
  if (entry.toolCalls?.length) first.toolCalls = entry.toolCalls.map((call, index) => ({ index, ...call }));
  const chunks: StreamChunk[] = [first, { delta: '', finishReason: entry.finishReason ?? 'stop', usage: entry.usage }];
  let at = 0;
  return {
    next: async () => (at < chunks.length ? { done: false, value: chunks[at++]! } : { done: true, value: undefined }),
    return: async () => {
      at = chunks.length;
    },
    usage: async () => entry.usage,
  };
}

/** Passes a routed stream through and, once it completed, hands over the whole answer it made for the cache. */
export function recordForCache(routed: RoutedStream, keep: (entry: CachedCompletion) => void): StreamSource {
  let content = '';
  let reasoning = '';
  let finishReason: string | null = null;
  const calls: ToolCallDelta[] = [];
  return {
    next: async () => {
      const result = await routed.next();
      if (!result.done) {
        const chunk = result.value;
        content += chunk.delta;
        if (chunk.reasoning) reasoning += chunk.reasoning;
        if (chunk.finishReason) finishReason = chunk.finishReason;
        for (const piece of chunk.toolCalls ?? []) mergeToolCall(calls, piece);
        return result;
      }
      if (finishReason !== null) {
        const usage: TokenUsage = await routed.usage();
        keep({
          content,
          finishReason,
          usage,
          toolCalls: calls.length ? calls.map(wholeCall) : undefined,
          reasoning: reasoning || undefined,
          servedModel: routed.model,
          provider: routed.deployment.provider,
          deployment: routed.deployment.name,
        });
      }
      return result;
    },
    return: () => routed.return(),
    usage: () => routed.usage(),
  };
}

function mergeToolCall(calls: ToolCallDelta[], piece: ToolCallDelta): void {
  const call = (calls[piece.index] ??= { index: piece.index, function: { arguments: '' } });
  if (piece.id) call.id = piece.id;
  if (piece.type) call.type = piece.type;
  if (piece.function?.name) call.function!.name = piece.function.name;
  if (piece.function?.arguments) call.function!.arguments += piece.function.arguments;
}

const wholeCall = (call: ToolCallDelta): ToolCall => ({
  id: call.id ?? '',
  type: call.type ?? 'function',
  function: { name: call.function?.name ?? '', arguments: call.function?.arguments ?? '' },
});
