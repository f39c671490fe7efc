import type { TokenUsage } from '../../providers/provider.ts';

/** OpenAI's usage block; the same numbers the usage event records. */
export const usageJson = (usage: TokenUsage) => ({
  prompt_tokens: usage.promptTokens,
  completion_tokens: usage.completionTokens,
  total_tokens: usage.totalTokens,
});
