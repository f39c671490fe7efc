import { asObject, countField, type JsonObject } from './json-fields.ts';
import type { TokenUsage } from './provider.ts';

/** What an OpenAI usage block reports; each count is undefined when absent or nonsensical. */
export interface ReportedCounts {
  promptTokens: number | undefined;
  completionTokens: number | undefined;
  cachedTokens: number | undefined;
  reasoningTokens: number | undefined;
}

export function readUsageBlock(usage: JsonObject | undefined, counts: ReportedCounts): void {
  if (!usage) return;
  counts.promptTokens = countField(usage, 'prompt_tokens') ?? counts.promptTokens;
  counts.completionTokens = countField(usage, 'completion_tokens') ?? counts.completionTokens;
  counts.cachedTokens = countField(asObject(usage.prompt_tokens_details), 'cached_tokens') ?? counts.cachedTokens;
  counts.reasoningTokens = countField(asObject(usage.completion_tokens_details), 'reasoning_tokens') ?? counts.reasoningTokens;
}

export const noCounts = (): ReportedCounts => ({ promptTokens: undefined, completionTokens: undefined, cachedTokens: undefined, reasoningTokens: undefined });

/** The usage's token details from the counts, when the upstream gave them. */
export function withDetails(usage: TokenUsage, counts: ReportedCounts): TokenUsage {
  if (counts.cachedTokens !== undefined) usage.cachedTokens = counts.cachedTokens;
  if (counts.reasoningTokens !== undefined) usage.reasoningTokens = counts.reasoningTokens;
  return usage;
}
