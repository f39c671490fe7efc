// The one interface every backend adapter implements. Adapters translate wire formats and classify
// failures (ProviderError.kind); what to do about a failure (retry, fail over, break) is the router's.

export interface ChatMessage {
  role: string;
  content: string;
}

export interface GenerationParams {
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  /** Provider-specific fields passed through to the upstream body as they are (tools, seed, format...). */
  extra?: Record<string, unknown>;
}

export interface ChatRequest extends GenerationParams {
  /** The upstream's model name (the deployment's `model`), not the name clients ask for. */
  model: string;
  messages: ChatMessage[];
}

export interface CompletionRequest extends GenerationParams {
  model: string;
  prompt: string;
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
}

export interface GenerationResult {
  id: string;
  /** The model name the upstream reported. */
  model: string;
  content: string;
  finishReason: string | null;
  usage: TokenUsage;
}

/**
 * One piece of a stream. Content chunks carry only `delta`; every stream that completes ends with
 * exactly one chunk whose delta is empty and which carries the finish reason and the usage.
 */
export interface StreamChunk {
  delta: string;
  finishReason?: string | null;
  usage?: TokenUsage;
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
