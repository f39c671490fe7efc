import { loadO200kBase } from './bpe-token-counter.ts';
import type { ChatMessage, TokenUsage } from './provider.ts';

// Counts for upstreams that report none (or only part), and for cost estimates; rate limits estimate a
// prompt from its size instead (promptTokensBySize). The encoder loads once, when a request first
// needs it (a gateway whose upstreams report usage never does). o200k_base is close to the ~150k-token vocabularies of the open
// models this gateway fronts; it is an estimate, flagged as such.

type Encoder = { countTokens(text: string): number };
let encoder: Promise<Encoder> | undefined;

function loadEncoder(): Promise<Encoder> {
  encoder ??= loadO200kBase().then((counter) => ({ countTokens: (text: string) => counter.count(text) }));
  return encoder;
}

/** Loads the encoder ahead of use (benchmarks): building its table takes a couple of hundred ms. */
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

/** A prompt's tokens as `count` counts each text, with the chat framing when it is a conversation. */
function promptTokens(prompt: PromptText, count: (text: string) => number): number {
  if (typeof prompt === 'string') return prompt === '' ? 0 : count(prompt);
  let total = 0;
  let chat = false;
  for (const item of prompt) {
    if (typeof item === 'string') {
      total += count(item);
    } else {
      chat = true;
      total += perMessage + count(item.role) + messageTokens(item, count);
    }
  }
  return chat ? total + replyPriming : total;
}

// What an image costs is the model's business (tiles, patches); a reservation takes OpenAI's bill for
// one low-detail image, and for any other the bill of a 2048 px square at high detail.
const lowDetailImageTokens = 85;
const imageTokens = 1_105;

/** A message's content (text or parts), tool calls and tool call id, as `count` counts text. */
function messageTokens(message: ChatMessage, count: (text: string) => number): number {
  const content = message.content;
  let total = 0;
  if (typeof content === 'string') total += count(content);
  else if (Array.isArray(content)) {
    for (const part of content) {
      if (typeof part.text === 'string') total += count(part.text);
      else if (part.type === 'image_url') total += part.image_url?.detail === 'low' ? lowDetailImageTokens : imageTokens;
      else total += count(JSON.stringify(part));
    }
  }
  if (message.tool_calls) total += count(JSON.stringify(message.tool_calls));
  if (typeof message.tool_call_id === 'string') total += count(message.tool_call_id);
  return total;
}

export async function estimatePromptTokens(prompt: PromptText): Promise<number> {
  return promptTokens(prompt, (await loadEncoder()).countTokens);
}

/**
 * A prompt's tokens from its UTF-8 size, for what a request reserves against its tokens-per-minute
 * limits: about four bytes a token, as rate limiters commonly estimate (docs/limits.md: how close it
 * comes). The tokenizer would cost more CPU than the rest of a request once a prompt passes a few hundred
 * tokens, and the reservation is replaced by the tokens actually used when the request settles.
 */
export function promptTokensBySize(prompt: PromptText): number {
  return promptTokens(prompt, tokensBySize);
}

const bytesPerToken = 4;
export const tokensBySize = (text: string): number => Math.ceil(Buffer.byteLength(text, 'utf8') / bytesPerToken);

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
