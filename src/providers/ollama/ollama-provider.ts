import { randomId } from '../../shared/ids.ts';
import { asObject, countField, stringField, type JsonObject } from '../json-fields.ts';
import { LineSplitter } from '../line-splitter.ts';
import type {
  CallOptions,
  ChatRequest,
  CompletionRequest,
  EmbeddingRequest,
  EmbeddingResult,
  GenerationResult,
  LlmProvider,
  StreamChunk,
  ToolCall,
  UpstreamModel,
} from '../provider.ts';
import { ollamaChatBody, ollamaOptions } from './ollama-chat-request.ts';
import { ProviderError } from '../provider-error.ts';
import { ResponsesRelay, servingResponses } from '../responses-relay.ts';
import { estimateUsage, reportedUsage, type PromptText } from '../token-estimator.ts';
import { UpstreamClient, type UpstreamClientOptions } from '../upstream-client.ts';
import { failureFromException } from '../upstream-failure.ts';

type Dialect = 'chat' | 'generate';

interface StreamState {
  parts: string[];
  /** Tool calls streamed so far: the next one's index. */
  toolCalls: number;
  finishReason: string | null;
  promptTokens: number | undefined;
  completionTokens: number | undefined;
  done: boolean;
}

/** Sampling settings, seed and penalties go in Ollama's `options`; other fields passed through `extra` stay at the top. */
function bodyFields(request: CompletionRequest): JsonObject {
  const { options: _options, ...extra } = request.extra ?? {};
  const options = ollamaOptions(request);
  return Object.keys(options).length > 0 ? { ...extra, options } : extra;
}

function textOf(line: JsonObject, dialect: Dialect): string | undefined {
  return dialect === 'chat' ? stringField(asObject(line.message), 'content') : stringField(line, 'response');
}

/** Ollama's tool calls in OpenAI's shape: arguments as a JSON string, and an id minted when it gave none. */
function openAiToolCalls(message: JsonObject | undefined): ToolCall[] | undefined {
  const calls = message?.tool_calls;
  if (!Array.isArray(calls) || calls.length === 0) return undefined;
  return calls.map((item) => {
    const call = asObject(item);
    const fn = asObject(call?.function);
    return {
      id: stringField(call, 'id') ?? `call_${randomId(24)}`,
      type: 'function',
      function: { name: stringField(fn, 'name') ?? '', arguments: JSON.stringify(fn?.arguments ?? {}) },
    };
  });
}

/**
 * Ollama's native API (/api/chat, /api/generate, /api/embed, /api/tags): NDJSON streams whose last
 * line carries done_reason, prompt_eval_count and eval_count. Ollama leaves prompt_eval_count out when
 * the prompt came from its cache, so a missing count is estimated rather than taken as zero.
 */
export class OllamaProvider implements LlmProvider {
  readonly type = 'ollama';
  readonly name: string;
  readonly servesResponses: boolean;
  readonly #client: UpstreamClient;
  /** Recent Ollama serves the Responses API on its OpenAI-compatible endpoint. */
  readonly #responses: ResponsesRelay;

  constructor(options: UpstreamClientOptions) {
    this.name = options.name;
    this.servesResponses = options.responses ?? false;
    this.#client = new UpstreamClient(options);
    this.#responses = new ResponsesRelay(this.#client, this.name, '/v1/responses');
  }

  async chat(request: ChatRequest, options?: CallOptions): Promise<GenerationResult> {
    if (request.responses) return this.#responses.answer(servingResponses(this, request), options);
    return this.#generate('/api/chat', ollamaChatBody(request, false, this.name), 'chat', request.messages, request.model, options);
  }

  stream(request: ChatRequest, options?: CallOptions): AsyncIterable<StreamChunk> {
    if (request.responses) return this.#responses.stream(servingResponses(this, request), options);
    // The body is built on the first read, so a request Ollama cannot express fails like any upstream refusal.
    return this.#stream('/api/chat', () => ollamaChatBody(request, true, this.name), 'chat', request.messages, options);
  }

  async complete(request: CompletionRequest, options?: CallOptions): Promise<GenerationResult> {
    const payload = { ...bodyFields(request), model: request.model, prompt: this.#singlePrompt(request.prompt), stream: false };
    return this.#generate('/api/generate', payload, 'generate', request.prompt, request.model, options);
  }

  streamCompletion(request: CompletionRequest, options?: CallOptions): AsyncIterable<StreamChunk> {
    return this.#stream('/api/generate', () => ({ ...bodyFields(request), model: request.model, prompt: this.#singlePrompt(request.prompt), stream: true }), 'generate', request.prompt, options);
  }

  async embeddings(request: EmbeddingRequest, options?: CallOptions): Promise<EmbeddingResult> {
    const body = asObject(await this.#client.postJson('/api/embed', { ...request.extra, model: request.model, input: request.input }, options));
    const embeddings = body?.embeddings;
    if (!Array.isArray(embeddings) || !embeddings.every(Array.isArray)) {
      throw new ProviderError('protocol', this.name, `${this.name} sent an embed answer without embeddings`);
    }
    const promptTokens = countField(body, 'prompt_eval_count');
    const usage = reportedUsage(promptTokens, 0) ?? (await estimateUsage(request.input, '', { completionTokens: 0 }));
    return { model: stringField(body, 'model') ?? request.model, embeddings: embeddings as number[][], usage };
  }

  async listModels(options?: CallOptions): Promise<UpstreamModel[]> {
    const models = asObject(await this.#client.getJson('/api/tags', options))?.models;
    if (!Array.isArray(models)) throw new ProviderError('protocol', this.name, `${this.name} sent a tag list without models`);
    return models.flatMap((item) => {
      const id = stringField(asObject(item), 'name');
      return id === undefined ? [] : [{ id }];
    });
  }

  async health(options?: CallOptions): Promise<void> {
    await this.#client.getJson('/api/version', options);
  }

  close(): Promise<void> {
    return this.#client.close();
  }

  async #generate(
    path: string,
    payload: JsonObject,
    dialect: Dialect,
    prompt: PromptText,
    requestedModel: string,
    options: CallOptions | undefined,
  ): Promise<GenerationResult> {
    const body = asObject(await this.#client.postJson(path, payload, options));
    const content = body ? textOf(body, dialect) : undefined;
    if (!body || content === undefined) {
      throw new ProviderError('protocol', this.name, `${this.name} sent an answer without ${dialect === 'chat' ? 'a message' : 'a response'}`);
    }
    const promptTokens = countField(body, 'prompt_eval_count');
    const completionTokens = countField(body, 'eval_count');
    const message = asObject(body.message);
    const toolCalls = openAiToolCalls(message);
    const reasoning = stringField(message, 'thinking');
    return {
      id: `ollama-${randomId(24)}`,
      model: stringField(body, 'model') ?? requestedModel,
      content,
      ...(toolCalls ? { toolCalls } : {}),
      ...(reasoning ? { reasoning } : {}),
      finishReason: toolCalls ? 'tool_calls' : (stringField(body, 'done_reason') ?? (body.done === true ? 'stop' : null)),
      usage:
        reportedUsage(promptTokens, completionTokens) ??
        (await estimateUsage(prompt, content, { promptTokens, completionTokens })),
    };
  }

  async *#stream(
    path: string,
    payload: () => JsonObject,
    dialect: Dialect,
    prompt: PromptText,
    options: CallOptions | undefined,
  ): AsyncGenerator<StreamChunk, void, undefined> {
    const body = await this.#client.postStream(path, payload(), options);
    const state: StreamState = { parts: [], toolCalls: 0, finishReason: null, promptTokens: undefined, completionTokens: undefined, done: false };
    const lines = new LineSplitter();
    try {
      for await (const bytes of body) {
        for (const line of lines.push(bytes as Buffer)) {
          const chunk = this.#fold(line, dialect, state);
          if (chunk) yield chunk;
        }
      }
      const tail = lines.end();
      const chunk = tail === undefined ? undefined : this.#fold(tail, dialect, state);
      if (chunk) yield chunk;
    } catch (error) {
      throw failureFromException(this.name, error, options?.signal, 'body');
    }
    if (!state.done) throw new ProviderError('protocol', this.name, `${this.name} ended the stream before it finished`);
    const usage =
      reportedUsage(state.promptTokens, state.completionTokens) ??
      (await estimateUsage(prompt, state.parts.join(''), state));
    yield { delta: '', finishReason: state.finishReason, usage };
  }

  /** Folds one NDJSON line into the state; returns what it adds (text, reasoning, whole tool calls). */
  #fold(line: string, dialect: Dialect, state: StreamState): StreamChunk | undefined {
    if (line === '' || state.done) return undefined;
    let event: JsonObject | undefined;
    try {
      event = asObject(JSON.parse(line));
    } catch {
      throw new ProviderError('protocol', this.name, `${this.name} sent a stream line that is not JSON`);
    }
    if (!event) throw new ProviderError('protocol', this.name, `${this.name} sent a stream line that is not an object`);
    const error = stringField(event, 'error');
    if (error !== undefined) throw new ProviderError('server', this.name, `${this.name} reported an error mid-stream: ${error}`);
    const text = textOf(event, dialect);
    if (text) state.parts.push(text);
    const message = asObject(event.message);
    const reasoning = stringField(message, 'thinking');
    const toolCalls = openAiToolCalls(message)?.map((call) => ({ index: state.toolCalls++, ...call }));
    if (event.done === true) {
      state.done = true;
      state.finishReason = state.toolCalls > 0 ? 'tool_calls' : (stringField(event, 'done_reason') ?? 'stop');
      state.promptTokens = countField(event, 'prompt_eval_count');
      state.completionTokens = countField(event, 'eval_count');
    }
    if (!text && !reasoning && !toolCalls) return undefined;
    const chunk: StreamChunk = { delta: text ?? '' };
    if (reasoning) chunk.reasoning = reasoning;
    if (toolCalls) chunk.toolCalls = toolCalls;
    return chunk;
  }

  /** Ollama's /api/generate takes one prompt. */
  #singlePrompt(prompt: string | string[]): string {
    if (typeof prompt === 'string') return prompt;
    if (prompt.length === 1) return prompt[0] as string;
    const message = 'prompt: Ollama takes one prompt per request';
    throw new ProviderError('client', this.name, `${this.name} cannot take the request: ${message}`, { status: 400, upstreamMessage: message });
  }
}
