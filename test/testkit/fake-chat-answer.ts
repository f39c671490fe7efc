import { fakePromptTokens, fakeTokens } from './fake-upstream.ts';

// What the fake OpenAI backend answers to a chat request, as a pure function of it: plain text, a
// tool call (when tools are offered and the last message is not a tool result), JSON for
// response_format, n choices, logprobs when asked, reasoning when the behaviour says so.

type Body = Record<string, unknown>;

export interface FakeToolCall {
  id: string;
  name: string;
  /** The arguments (a JSON string) in the pieces a stream sends them in. */
  argumentPieces: string[];
}

export interface FakeChoice {
  index: number;
  /** The content in the pieces a stream sends (one per completion token). */
  pieces: string[];
  toolCall: FakeToolCall | undefined;
  reasoning: string[];
  finishReason: 'stop' | 'length' | 'tool_calls';
}

export interface FakeChatAnswer {
  choices: FakeChoice[];
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  logprobs: boolean;
  topLogprobs: number;
}

const asRecord = (value: unknown): Body => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Body) : {});

/** A message's text: its content, or its text parts joined. */
export function fakeMessageText(message: Body): string {
  const content = message.content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => asRecord(part).text).filter((text) => typeof text === 'string').join('');
}

/** Each image part costs this many prompt tokens, so tests can tell an image reached the fake. */
export const fakeImageTokens = 85;

function imageParts(messages: Body[]): number {
  let count = 0;
  for (const message of messages) {
    if (Array.isArray(message.content)) count += message.content.filter((part) => asRecord(part).type === 'image_url').length;
  }
  return count;
}

export function fakeChatAnswer(body: Body, options: { tokens: number; reasoning: boolean; callId: string }): FakeChatAnswer {
  const messages = (Array.isArray(body.messages) ? body.messages : []).map(asRecord);
  const texts = messages.map(fakeMessageText);
  const last = messages.at(-1);
  const seed = texts.at(-1) ?? '';
  const tools = Array.isArray(body.tools) ? body.tools.map(asRecord) : [];
  const callsTool = tools.length > 0 && last?.role !== 'tool' && body.tool_choice !== 'none';
  const format = asRecord(body.response_format).type;
  const limit = typeof body.max_completion_tokens === 'number' ? body.max_completion_tokens : typeof body.max_tokens === 'number' ? body.max_tokens : Number.POSITIVE_INFINITY;
  const n = typeof body.n === 'number' ? body.n : 1;
  const choices: FakeChoice[] = [];
  for (let index = 0; index < n; index++) {
    const choiceSeed = index === 0 ? seed : `${seed}#${index}`;
    const reasoning = options.reasoning ? fakeTokens(`think:${choiceSeed}`, 3) : [];
    if (callsTool) {
      const name = String(asRecord(tools[0]?.function).name ?? 'tool');
      const words = fakeTokens(choiceSeed, 2);
      const argumentsText = JSON.stringify({ query: words.join('') });
      const third = Math.ceil(argumentsText.length / 3);
      const argumentPieces = [argumentsText.slice(0, third), argumentsText.slice(third, 2 * third), argumentsText.slice(2 * third)];
      choices.push({ index, pieces: [], toolCall: { id: `${options.callId}_${index}`, name, argumentPieces }, reasoning, finishReason: 'tool_calls' });
      continue;
    }
    const count = Math.min(options.tokens, limit);
    const words = fakeTokens(choiceSeed, count);
    const pieces = format === 'json_object' || format === 'json_schema' ? ['{"answer":', JSON.stringify(words.join('')), '}'] : words;
    choices.push({ index, pieces, toolCall: undefined, reasoning, finishReason: count < options.tokens ? 'length' : 'stop' });
  }
  const reasoningTokens = choices.reduce((sum, c) => sum + c.reasoning.length, 0);
  const completionTokens = choices.reduce((sum, c) => sum + c.pieces.length + (c.toolCall?.argumentPieces.length ?? 0), 0) + reasoningTokens;
  const topLogprobs = typeof body.top_logprobs === 'number' ? body.top_logprobs : 0;
  return {
    choices,
    promptTokens: fakePromptTokens(texts) + fakeImageTokens * imageParts(messages),
    completionTokens,
    reasoningTokens,
    logprobs: body.logprobs === true,
    topLogprobs,
  };
}

/** OpenAI's logprobs block for the given content pieces. */
export function fakeLogprobs(pieces: string[], top: number): { content: unknown[]; refusal: null } {
  return {
    content: pieces.map((token, i) => ({
      token,
      logprob: -0.125 * (i + 1),
      bytes: [...Buffer.from(token)],
      top_logprobs: Array.from({ length: top }, (_, k) => ({ token: `${token}~${k}`, logprob: -0.125 * (i + 1) - k, bytes: [...Buffer.from(`${token}~${k}`)] })),
    })),
    refusal: null,
  };
}

/** The whole message of a choice, as a non-streamed answer carries it. */
export function fakeMessage(choice: FakeChoice): Body {
  const message: Body = {
    role: 'assistant',
    content: choice.toolCall ? null : choice.pieces.join(''),
    refusal: null,
    annotations: [],
  };
  if (choice.reasoning.length > 0) message.reasoning_content = choice.reasoning.join('');
  if (choice.toolCall) {
    message.tool_calls = [{ id: choice.toolCall.id, type: 'function', function: { name: choice.toolCall.name, arguments: choice.toolCall.argumentPieces.join('') } }];
  }
  return message;
}

/**
 * The deltas a stream sends for all choices, in order: per step, one event per choice that still has
 * something to send (its reasoning, then its tool call or content pieces). Finishes follow the steps.
 */
export function fakeDeltas(answer: FakeChatAnswer): Body[][] {
  const sequences = answer.choices.map((choice) => {
    const events: Body[] = [];
    for (const piece of choice.reasoning) events.push({ index: choice.index, delta: { reasoning_content: piece }, logprobs: null, finish_reason: null });
    if (choice.toolCall) {
      const call = choice.toolCall;
      events.push({ index: choice.index, delta: { tool_calls: [{ index: 0, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }, logprobs: null, finish_reason: null });
      for (const piece of call.argumentPieces) events.push({ index: choice.index, delta: { tool_calls: [{ index: 0, function: { arguments: piece } }] }, logprobs: null, finish_reason: null });
    }
    choice.pieces.forEach((piece, i) => {
      const logprobs = answer.logprobs ? { content: fakeLogprobs(choice.pieces, answer.topLogprobs).content.slice(i, i + 1), refusal: null } : null;
      events.push({ index: choice.index, delta: { content: piece }, logprobs, finish_reason: null });
    });
    return events;
  });
  const steps: Body[][] = [];
  const longest = Math.max(0, ...sequences.map((s) => s.length));
  for (let i = 0; i < longest; i++) steps.push(sequences.flatMap((s) => (i < s.length ? [s[i] as Body] : [])));
  return steps;
}
