import { randomId } from '../../shared/ids.ts';
import { asObject, countField, stringField, type JsonObject } from '../json-fields.ts';
import { LineSplitter } from '../line-splitter.ts';
import type {
  CallOptions,
  ChatRequest,
  CompletionRequest,
  EmbeddingRequest,
  EmbeddingResult,
  GenerationParams,
  GenerationResult,
  LlmProvider,
  StreamChunk,
  UpstreamModel,
} from '../provider.ts';
import { ProviderError } from '../provider-error.ts';
import { estimateUsage, reportedUsage, type PromptText } from '../token-estimator.ts';
import { UpstreamClient, type UpstreamClientOptions } from '../upstream-client.ts';
import { failureFromException } from '../upstream-failure.ts';

type Dialect = 'chat' | 'generate';

interface StreamState {
  parts: string[];
  finishReason: string | null;
  promptTokens: number | undefined;
  completionTokens: number | undefined;
  done: boolean;
}

/** Sampling settings go in Ollama's `options`, merged over any the caller passed through `extra`. */
function bodyFields(request: GenerationParams): JsonObject {
  const { options: extraOptions, ...extra } = request.extra ?? {};
  const options: JsonObject = { ...asObject(extraOptions) };
  if (request.maxTokens !== undefined) options.num_predict = request.maxTokens;
  if (request.temperature !== undefined) options.temperature = request.temperature;
  if (request.topP !== undefined) options.top_p = request.topP;
  if (request.stop !== undefined) options.stop = request.stop;
  return Object.keys(options).length > 0 ? { ...extra, options } : extra;
}

function textOf(line: JsonObject, dialect: Dialect): string | undefined {
  return dialect === 'chat' ? stringField(asObject(line.message), 'content') : stringField(line, 'response');
}

/**
 * Ollama's native API (/api/chat, /api/generate, /api/embed, /api/tags): NDJSON streams whose last
 * line carries done_reason, prompt_eval_count and eval_count. Ollama leaves prompt_eval_count out when
 * the prompt came from its cache, so a missing count is estimated rather than taken as zero.
 */
export class OllamaProvider implements LlmProvider {
  readonly type = 'ollama';
  readonly name: string;
  readonly #client: UpstreamClient;

  constructor(options: UpstreamClientOptions) {
    this.name = options.name;
    this.#client = new UpstreamClient(options);
  }

  chat(request: ChatRequest, options?: CallOptions): Promise<GenerationResult> {
    const payload = { ...bodyFields(request), model: request.model, messages: request.messages, stream: false };
    return this.#generate('/api/chat', payload, 'chat', request.messages, request.model, options);
  }

  stream(request: ChatRequest, options?: CallOptions): AsyncIterable<StreamChunk> {
    const payload = { ...bodyFields(request), model: request.model, messages: request.messages, stream: true };
    return this.#stream('/api/chat', payload, 'chat', request.messages, options);
  }

  complete(request: CompletionRequest, options?: CallOptions): Promise<GenerationResult> {
    const payload = { ...bodyFields(request), model: request.model, prompt: request.prompt, stream: false };
    return this.#generate('/api/generate', payload, 'generate', request.prompt, request.model, options);
  }

  streamCompletion(request: CompletionRequest, options?: CallOptions): AsyncIterable<StreamChunk> {
    const payload = { ...bodyFields(request), model: request.model, prompt: request.prompt, stream: true };
    return this.#stream('/api/generate', payload, 'generate', request.prompt, options);
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
    return {
      id: `ollama-${randomId(24)}`,
      model: stringField(body, 'model') ?? requestedModel,
      content,
      finishReason: stringField(body, 'done_reason') ?? (body.done === true ? 'stop' : null),
      usage:
        reportedUsage(promptTokens, completionTokens) ??
        (await estimateUsage(prompt, content, { promptTokens, completionTokens })),
    };
  }

  async *#stream(
    path: string,
    payload: JsonObject,
    dialect: Dialect,
    prompt: PromptText,
    options: CallOptions | undefined,
  ): AsyncGenerator<StreamChunk, void, undefined> {
    const body = await this.#client.postStream(path, payload, options);
    const state: StreamState = { parts: [], finishReason: null, promptTokens: undefined, completionTokens: undefined, done: false };
    const lines = new LineSplitter();
    try {
      for await (const bytes of body) {
        for (const line of lines.push(bytes as Buffer)) {
          const delta = this.#fold(line, dialect, state);
          if (delta) yield { delta };
        }
      }
      const tail = lines.end();
      const delta = tail === undefined ? undefined : this.#fold(tail, dialect, state);
      if (delta) yield { delta };
    } catch (error) {
      throw failureFromException(this.name, error, options?.signal, 'body');
    }
    if (!state.done) throw new ProviderError('protocol', this.name, `${this.name} ended the stream before it finished`);
    const usage =
      reportedUsage(state.promptTokens, state.completionTokens) ??
      (await estimateUsage(prompt, state.parts.join(''), state));
    yield { delta: '', finishReason: state.finishReason, usage };
  }

  /** Folds one NDJSON line into the state; returns the text it adds. */
  #fold(line: string, dialect: Dialect, state: StreamState): string | undefined {
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
    if (event.done === true) {
      state.done = true;
      state.finishReason = stringField(event, 'done_reason') ?? 'stop';
      state.promptTokens = countField(event, 'prompt_eval_count');
      state.completionTokens = countField(event, 'eval_count');
    }
    return text;
  }
}
