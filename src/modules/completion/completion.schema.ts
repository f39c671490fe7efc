import { builder } from '../../builder.ts';
import type { StreamChunk, TokenUsage } from '../../providers/provider.ts';
import { badInput } from '../../shared/errors.ts';
import type { GraphQLContext } from '../../context.ts';
import { completionCaller, type CompletionCaller } from './completion-caller.ts';
import type { ChatInput, CompletionResult } from './completion.service.ts';

const TokenUsageRef = builder.objectRef<TokenUsage>('TokenUsage');
TokenUsageRef.implement({
  description: 'Token counts of one request: the same numbers /v1 returns and usage reports sum.',
  fields: (t) => ({
    promptTokens: t.exposeInt('promptTokens'),
    completionTokens: t.exposeInt('completionTokens'),
    totalTokens: t.exposeInt('totalTokens'),
    estimated: t.exposeBoolean('estimated', { description: 'True when the upstream gave no counts and a tokenizer supplied them.' }),
  }),
});

const ChatCompletionRef = builder.objectRef<CompletionResult>('ChatCompletion');
ChatCompletionRef.implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    model: t.exposeString('model'),
    content: t.exposeString('content'),
    finishReason: t.exposeString('finishReason', { nullable: true }),
    usage: t.field({ type: TokenUsageRef, resolve: (result) => result.usage }),
  }),
});

const ChatCompletionChunkRef = builder.objectRef<StreamChunk>('ChatCompletionChunk');
ChatCompletionChunkRef.implement({
  description: 'One upstream delta; the last chunk carries finishReason and usage.',
  fields: (t) => ({
    delta: t.exposeString('delta'),
    finishReason: t.string({ nullable: true, resolve: (chunk) => chunk.finishReason ?? null }),
    usage: t.field({ type: TokenUsageRef, nullable: true, resolve: (chunk) => chunk.usage ?? null }),
  }),
});

export const ChatMessageInput = builder.inputType('ChatMessageInput', {
  fields: (t) => ({
    role: t.string({ required: true, description: 'system, user or assistant' }),
    content: t.string({ required: true }),
  }),
});

const ChatCompletionInput = builder.inputType('ChatCompletionInput', {
  fields: (t) => ({
    model: t.string({ required: true }),
    messages: t.field({ type: [ChatMessageInput], required: true }),
    maxTokens: t.int(),
    temperature: t.float(),
    cache: t.boolean({ description: "Serve an identical earlier answer (temperature 0 only); overrides the tenant's setting." }),
  }),
});

type ChatCompletionInputShape = typeof ChatCompletionInput.$inferInput;

const roles = new Set(['system', 'user', 'assistant']);

function toChatInput(input: ChatCompletionInputShape): ChatInput {
  if (input.messages.length === 0) throw badInput('messages must not be empty', { field: 'messages' });
  input.messages.forEach((message, i) => {
    if (!roles.has(message.role)) throw badInput(`messages[${i}].role must be system, user or assistant, got "${message.role}"`, { field: `messages.${i}.role` });
  });
  if (input.maxTokens != null && input.maxTokens <= 0) throw badInput('maxTokens must be positive', { field: 'maxTokens' });
  if (input.temperature != null && (input.temperature < 0 || input.temperature > 2)) throw badInput('temperature must be between 0 and 2', { field: 'temperature' });
  return {
    model: input.model,
    messages: input.messages.map((m) => ({ role: m.role, content: m.content })),
    maxTokens: input.maxTokens ?? undefined,
    temperature: input.temperature ?? undefined,
    cache: input.cache ?? undefined,
  };
}

/** The platform acting for a suspended tenant is refused here, as the tenant's own keys and sessions are when they authenticate. */
async function activeCaller(ctx: GraphQLContext): Promise<CompletionCaller> {
  const caller = completionCaller(ctx.principal, ctx.requestId, { requestIdGiven: ctx.requestIdGiven });
  if (ctx.principal.kind === 'platform') await ctx.deps.auth.requireActiveTenant(caller.tenantId);
  return caller;
}

builder.mutationField('createChatCompletion', (t) =>
  t.field({
    type: ChatCompletionRef,
    args: { input: t.arg({ type: ChatCompletionInput, required: true }) },
    description: "A whole chat completion for the caller's tenant (same routing, limits and metering as /v1).",
    resolve: async (_root, { input }, ctx) => ctx.deps.services.completions.chat(await activeCaller(ctx), toChatInput(input)),
  }),
);

builder.subscriptionField('chatCompletion', (t) =>
  t.field({
    type: ChatCompletionChunkRef,
    args: { input: t.arg({ type: ChatCompletionInput, required: true }) },
    description: 'Streams a chat completion, one chunk per upstream delta. Completing the subscription aborts the upstream request.',
    subscribe: async (_root, { input }, ctx) => ctx.deps.services.completions.streamChat(await activeCaller(ctx), toChatInput(input)),
    resolve: (chunk) => chunk,
  }),
);
