import { loadO200kBase } from './bpe-token-counter.ts';
import type { ChatMessage, TokenUsage } from './provider.ts';

// Counts for upstreams that report none (or only part), and prompt counts for limits. The encoder
// loads on first use or through warmTokenizer() ahead of traffic. o200k_base is close to the
// ~150k-token vocabularies of the open models this gateway fronts; it is an estimate, flagged as such.

type Encoder = { countTokens(text: string): number };
let encoder: Promise<Encoder> | undefined;

function loadEncoder(): Promise<Encoder> {
  encoder ??= loadO200kBase().then((counter) => ({ countTokens: (text: string) => counter.count(text) }));
  return encoder;
}

/** Loads the encoder ahead of traffic: building its table takes a couple of hundred ms. */
export async function warmTokenizer(): Promise<void> {
  await loadEncoder();
}

/** The request text a prompt count is derived from: chat messages, or a prompt / embedding inputs. */
export type PromptText = readonly ChatMessage[] | string | readonly string[];

export async function countTokens(text: string): Promise<number> {
  if (text === '') return 0;
  return (await loadEncoder()).countTokens(text);
}

// OpenAI's published accounting for chat formats: 3 tokens of framing per message, 3 to prime the reply.
const perMessage = 3;
const replyPriming = 3;

export async function estimatePromptTokens(prompt: PromptText): Promise<number> {
  const { countTokens: count } = await loadEncoder();
  if (typeof prompt === 'string') return prompt === '' ? 0 : count(prompt);
  let total = 0;
  let chat = false;
  for (const item of prompt) {
    if (typeof item === 'string') {
      total += count(item);
    } else {
      chat = true;
      total += perMessage + count(item.role) + count(item.content);
    }
  }
  return chat ? total + replyPriming : total;
}

/** Usage from the upstream's counts when it gave both; undefined otherwise. */
export function reportedUsage(promptTokens: number | undefined, completionTokens: number | undefined): TokenUsage | undefined {
  if (promptTokens === undefined || completionTokens === undefined) return undefined;
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, estimated: false };
}

/** Fills whatever the upstream left out with tokenizer counts and marks the result estimated. */
export async function estimateUsage(
  prompt: PromptText,
  completion: string,
  known: { promptTokens?: number | undefined; completionTokens?: number | undefined } = {},
): Promise<TokenUsage> {
  const promptTokens = known.promptTokens ?? (await estimatePromptTokens(prompt));
  const completionTokens = known.completionTokens ?? (await countTokens(completion));
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, estimated: true };
}
