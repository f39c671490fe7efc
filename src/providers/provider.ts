// The one interface every backend adapter implements. Adapters translate wire formats and classify
// failures (ProviderError.kind); what to do about a failure (retry, fail over, break) is the router's.

/** One part of a message's content as OpenAI spells it: `text`, `image_url`, `input_audio`, `file`... */
export interface ContentPart {
  type: string;
  text?: string;
  image_url?: { url: string; detail?: string };
  [field: string]: unknown;
}

export interface ToolCall {
  id: string;
  type: string;
  function: { name: string; arguments: string };
}

/** A piece of a streamed tool call: the first carries id and name, the next ones argument text. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
}

/** A chat message in OpenAI's shape; fields the gateway does not read travel with it unchanged. */
export interface ChatMessage {
  role: string;
  content?: string | ContentPart[] | null;
  name?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  [field: string]: unknown;
}

export interface GenerationParams {
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  /** Provider-specific fields passed through to the upstream body as they are (tools, seed, format...). */
  extra?: Record<string, unknown>;
}

/**
 * The client's request in OpenAI's shape, `model` aside. An OpenAI-compatible upstream receives it as
 * it is (with the deployment's model); other adapters translate it and refuse what they cannot express.
 */
export type WireRequest = Record<string, unknown>;

export interface ChatRequest extends GenerationParams {
  /** The upstream's model name (the deployment's `model`), not the name clients ask for. */
  model: string;
  messages: ChatMessage[];
  /** Set by surfaces that speak OpenAI's wire: then it, not the typed fields, is what goes upstream. */
  wire?: WireRequest;
  /**
   * A Responses API request for an upstream that serves it (`responses: true`): it goes to its
   * /v1/responses as it is, `model` aside; `messages` then only stand for its size in estimates.
   */
  responses?: WireRequest;
}

export interface CompletionRequest extends GenerationParams {
  model: string;
  prompt: string | string[];
  wire?: WireRequest;
}

export interface EmbeddingRequest {
  model: string;
  input: string | string[];
  extra?: Record<string, unknown>;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** True when the upstream gave no (or partial) counts and a tokenizer supplied them. */
  estimated: boolean;
  /** Prompt tokens the upstream served from its prompt cache (prompt_tokens_details.cached_tokens). */
  cachedTokens?: number;
  /** Completion tokens spent on reasoning (completion_tokens_details.reasoning_tokens). */
  reasoningTokens?: number;
}

export interface GenerationResult {
  id: string;
  /** The model name the upstream reported. */
  model: string;
  content: string;
  finishReason: string | null;
  usage: TokenUsage;
  toolCalls?: ToolCall[];
  /** The model's reasoning, when it shows it (reasoning_content, Ollama's thinking). */
  reasoning?: string;
  /** The upstream's whole answer as it came (JSON text in OpenAI's shape), for surfaces that relay it (OpenAI-compatible upstreams). */
  wire?: string;
}

/**
 * One piece of a stream. Content chunks carry `delta` (and tool call pieces or reasoning); every
 * stream that completes ends with exactly one chunk whose delta is empty and which carries the finish
 * reason and the usage.
 */
export interface StreamChunk {
  delta: string;
  finishReason?: string | null;
  usage?: TokenUsage;
  toolCalls?: ToolCallDelta[];
  reasoning?: string;
  /**
   * For a request that came in on OpenAI's wire: the upstream's SSE frames this chunk hands over, as
   * they came with `model` set to the name the client asked for (those that showed nothing new wait
   * for the next chunk; the usage event only when the client asked for usage).
   */
  wire?: string;
}

export interface EmbeddingResult {
  model: string;
  embeddings: number[][];
  usage: TokenUsage;
}

export interface UpstreamModel {
  id: string;
}

export interface CallOptions {
  /** Aborting it aborts the upstream request (the socket is closed at once). */
  signal?: AbortSignal;
  /** Overrides the provider's own key, e.g. with the tenant's credential for this provider. */
  apiKey?: string;
  /** Sent upstream as x-request-id so both sides' logs line up. */
  requestId?: string | undefined;
  /** W3C trace context sent upstream, so the upstream's spans join the request's trace. */
  traceparent?: string | undefined;
}

export type ProviderType = 'openai' | 'ollama';

export interface LlmProvider {
  readonly name: string;
  readonly type: ProviderType;
  /** The upstream serves the Responses API itself: a ChatRequest with `responses` goes there. */
  readonly servesResponses: boolean;
  chat(request: ChatRequest, options?: CallOptions): Promise<GenerationResult>;
  stream(request: ChatRequest, options?: CallOptions): AsyncIterable<StreamChunk>;
  complete(request: CompletionRequest, options?: CallOptions): Promise<GenerationResult>;
  streamCompletion(request: CompletionRequest, options?: CallOptions): AsyncIterable<StreamChunk>;
  embeddings(request: EmbeddingRequest, options?: CallOptions): Promise<EmbeddingResult>;
  listModels(options?: CallOptions): Promise<UpstreamModel[]>;
  /** Resolves when the upstream answers its cheapest endpoint; throws a ProviderError otherwise. */
  health(options?: CallOptions): Promise<void>;
  /** Stops accepting calls; requests in flight (streams included) finish first. */
  close(): Promise<void>;
}
