import { builder } from '../../builder.ts';
import type { ChatMessage, ContentPart, StreamChunk, TokenUsage, ToolCall, ToolCallDelta } from '../../providers/provider.ts';
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

const FunctionCallRef = builder.objectRef<{ name?: string | undefined; arguments?: string | undefined }>('FunctionCall');
FunctionCallRef.implement({
  description: 'The function a tool call invokes; in a stream, the name comes first and the arguments (a JSON string) in pieces.',
  fields: (t) => ({
    name: t.string({ nullable: true, resolve: (fn) => fn.name ?? null }),
    arguments: t.string({ nullable: true, resolve: (fn) => fn.arguments ?? null }),
  }),
});

const ToolCallRef = builder.objectRef<ToolCallDelta>('ToolCall');
ToolCallRef.implement({
  description: "A tool call the model asks for, as OpenAI's wire has it. In a stream, pieces with the same index make one call.",
  fields: (t) => ({
    index: t.exposeInt('index'),
    id: t.string({ nullable: true, resolve: (call) => call.id ?? null }),
    type: t.string({ nullable: true, resolve: (call) => call.type ?? null }),
    function: t.field({ type: FunctionCallRef, nullable: true, resolve: (call) => call.function ?? null }),
  }),
});

const indexed = (calls: ToolCall[] | undefined): ToolCallDelta[] | null => calls?.map((call, index) => ({ index, ...call })) ?? null;

export const ChatCompletionRef = builder.objectRef<CompletionResult>('ChatCompletion');
ChatCompletionRef.implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    model: t.exposeString('model'),
    content: t.exposeString('content'),
    finishReason: t.exposeString('finishReason', { nullable: true }),
    toolCalls: t.field({ type: [ToolCallRef], nullable: true, resolve: (result) => indexed(result.toolCalls) }),
    reasoning: t.string({ nullable: true, description: 'What the model reasoned before answering, when it shows it.', resolve: (result) => result.reasoning ?? null }),
    usage: t.field({ type: TokenUsageRef, resolve: (result) => result.usage }),
  }),
});

export const ChatCompletionChunkRef = builder.objectRef<StreamChunk>('ChatCompletionChunk');
ChatCompletionChunkRef.implement({
  description: 'One upstream delta; the last chunk carries finishReason and usage.',
  fields: (t) => ({
    delta: t.exposeString('delta'),
    toolCalls: t.field({ type: [ToolCallRef], nullable: true, resolve: (chunk) => chunk.toolCalls ?? null }),
    reasoning: t.string({ nullable: true, resolve: (chunk) => chunk.reasoning ?? null }),
    finishReason: t.string({ nullable: true, resolve: (chunk) => chunk.finishReason ?? null }),
    usage: t.field({ type: TokenUsageRef, nullable: true, resolve: (chunk) => chunk.usage ?? null }),
  }),
});

const ImageUrlInput = builder.inputType('ImageUrlInput', {
  fields: (t) => ({
    url: t.string({ required: true, description: 'An http(s) URL or a data: URL (base64).' }),
    detail: t.string({ description: 'low, high or auto' }),
  }),
});

const ContentPartInput = builder.inputType('ContentPartInput', {
  description: "One part of a message's content: text, or an image.",
  fields: (t) => ({
    type: t.string({ required: true, description: 'text or image_url' }),
    text: t.string(),
    imageUrl: t.field({ type: ImageUrlInput }),
  }),
});

const FunctionCallInput = builder.inputType('FunctionCallInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    arguments: t.string({ required: true, description: 'A JSON string.' }),
  }),
});

const ToolCallInput = builder.inputType('ToolCallInput', {
  description: 'A tool call an earlier assistant message made, sent back in the history.',
  fields: (t) => ({
    id: t.string({ required: true }),
    type: t.string({ required: true, description: 'function' }),
    function: t.field({ type: FunctionCallInput, required: true }),
  }),
});

export const ChatMessageInput = builder.inputType('ChatMessageInput', {
  fields: (t) => ({
    role: t.string({ required: true, description: 'system, user, assistant or tool' }),
    content: t.string({ description: 'The text; may be left out when parts or tool calls carry the message.' }),
    parts: t.field({ type: [ContentPartInput], description: 'The content as parts (text and images), instead of content.' }),
    toolCalls: t.field({ type: [ToolCallInput], description: 'The tool calls of an assistant message.' }),
    toolCallId: t.string({ description: 'The call a tool message answers.' }),
  }),
});

const ChatCompletionInput = builder.inputType('ChatCompletionInput', {
  fields: (t) => ({
    model: t.string({ required: true }),
    messages: t.field({ type: [ChatMessageInput], required: true }),
    maxTokens: t.int(),
    temperature: t.float(),
    tools: t.field({ type: ['JSON'], description: "Tools the model may call, in OpenAI's shape ({ type: \"function\", function: { name, description, parameters } })." }),
    toolChoice: t.field({ type: 'JSON', description: 'none, auto, required, or { type: "function", function: { name } }.' }),
    responseFormat: t.field({ type: 'JSON', description: '{ type: "json_object" } or { type: "json_schema", json_schema: { name, schema } }.' }),
    cache: t.boolean({ description: "Serve an identical earlier answer (temperature 0 only); overrides the tenant's setting." }),
  }),
});

type ChatCompletionInputShape = typeof ChatCompletionInput.$inferInput;
type ChatMessageShape = typeof ChatMessageInput.$inferInput;

const roles = new Set(['system', 'user', 'assistant', 'tool']);

function contentPart(part: NonNullable<ChatMessageShape['parts']>[number], at: string): ContentPart {
  if (part.type === 'text') {
    if (part.text == null) throw badInput(`${at}.text is required for a text part`, { field: `${at}.text` });
    return { type: 'text', text: part.text };
  }
  if (part.type === 'image_url') {
    if (!part.imageUrl) throw badInput(`${at}.imageUrl is required for an image_url part`, { field: `${at}.imageUrl` });
    return { type: 'image_url', image_url: part.imageUrl.detail == null ? { url: part.imageUrl.url } : { url: part.imageUrl.url, detail: part.imageUrl.detail } };
  }
  throw badInput(`${at}.type must be text or image_url, got "${part.type}"`, { field: `${at}.type` });
}

function chatMessage(message: ChatMessageShape, i: number): ChatMessage {
  const at = `messages[${i}]`;
  if (!roles.has(message.role)) throw badInput(`${at}.role must be system, user, assistant or tool, got "${message.role}"`, { field: `messages.${i}.role` });
  if (message.content != null && message.parts != null) throw badInput(`${at}: give content or parts, not both`, { field: `messages.${i}.parts` });
  const content = message.parts ? message.parts.map((part, j) => contentPart(part, `${at}.parts[${j}]`)) : (message.content ?? null);
  if (content === null && !message.toolCalls?.length) throw badInput(`${at} needs content, parts or tool calls`, { field: `messages.${i}.content` });
  if (message.role === 'tool' && message.toolCallId == null) throw badInput(`${at}.toolCallId is required for a tool message`, { field: `messages.${i}.toolCallId` });
  const translated: ChatMessage = { role: message.role, content };
  if (message.toolCalls?.length) translated.tool_calls = message.toolCalls.map((call) => ({ id: call.id, type: call.type, function: { name: call.function.name, arguments: call.function.arguments } }));
  if (message.toolCallId != null) translated.tool_call_id = message.toolCallId;
  return translated;
}

/** OpenAI's fields for what GraphQL carries beyond text, sent to the upstream as they are (translated for Ollama). */
function openAiFields(input: ChatCompletionInputShape): Record<string, unknown> | undefined {
  const fields: Record<string, unknown> = {};
  if (input.tools != null) fields.tools = input.tools;
  if (input.toolChoice != null) fields.tool_choice = input.toolChoice;
  if (input.responseFormat != null) fields.response_format = input.responseFormat;
  return Object.keys(fields).length > 0 ? fields : undefined;
}

function toChatInput(input: ChatCompletionInputShape): ChatInput {
  if (input.messages.length === 0) throw badInput('messages must not be empty', { field: 'messages' });
  const messages = input.messages.map(chatMessage);
  if (input.maxTokens != null && input.maxTokens <= 0) throw badInput('maxTokens must be positive', { field: 'maxTokens' });
  if (input.temperature != null && (input.temperature < 0 || input.temperature > 2)) throw badInput('temperature must be between 0 and 2', { field: 'temperature' });
  return {
    model: input.model,
    messages,
    maxTokens: input.maxTokens ?? undefined,
    temperature: input.temperature ?? undefined,
    extra: openAiFields(input),
    cache: input.cache ?? undefined,
  };
}

/** The platform acting for a suspended tenant is refused here, as the tenant's own keys and sessions are when they authenticate. */
export async function activeCaller(ctx: GraphQLContext): Promise<CompletionCaller> {
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
