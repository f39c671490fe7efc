import { asObject, countField, firstElement, stringField, type JsonObject } from '../json-fields.ts';
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
import { SseDecoder } from '../sse-decoder.ts';
import { estimateUsage, reportedUsage, type PromptText } from '../token-estimator.ts';
import { UpstreamClient, type UpstreamClientOptions } from '../upstream-client.ts';
import { failureFromException, upstreamMessage } from '../upstream-failure.ts';

type Dialect = 'chat' | 'completion';

/** Mutable state of one stream while its events are folded in. */
interface StreamState {
  parts: string[];
  finishReason: string | null;
  promptTokens: number | undefined;
  completionTokens: number | undefined;
  done: boolean;
}

function generationFields(request: GenerationParams): JsonObject {
  return {
    ...request.extra,
    max_tokens: request.maxTokens,
    temperature: request.temperature,
    top_p: request.topP,
    stop: request.stop,
  };
}

function textOf(choice: JsonObject | undefined, dialect: Dialect): string | undefined {
  if (dialect === 'completion') return stringField(choice, 'text');
  return stringField(asObject(choice?.message) ?? asObject(choice?.delta), 'content');
}

/**
 * Any server that speaks OpenAI's /v1 API: vLLM, llama.cpp server, TGI, Groq, OpenRouter and the like.
 * Streams always ask for stream_options.include_usage so counts come from the upstream when it can.
 */
export class OpenAiCompatibleProvider implements LlmProvider {
  readonly type = 'openai';
  readonly name: string;
  readonly #client: UpstreamClient;

  constructor(options: UpstreamClientOptions) {
    this.name = options.name;
    this.#client = new UpstreamClient(options);
  }

  chat(request: ChatRequest, options?: CallOptions): Promise<GenerationResult> {
    const payload = { ...generationFields(request), model: request.model, messages: request.messages, stream: false };
    return this.#generate('/chat/completions', payload, 'chat', request.messages, request.model, options);
  }

  stream(request: ChatRequest, options?: CallOptions): AsyncIterable<StreamChunk> {
    const payload = { ...generationFields(request), model: request.model, messages: request.messages };
    return this.#stream('/chat/completions', payload, 'chat', request.messages, options);
  }

  complete(request: CompletionRequest, options?: CallOptions): Promise<GenerationResult> {
    const payload = { ...generationFields(request), model: request.model, prompt: request.prompt, stream: false };
    return this.#generate('/completions', payload, 'completion', request.prompt, request.model, options);
  }

  streamCompletion(request: CompletionRequest, options?: CallOptions): AsyncIterable<StreamChunk> {
    const payload = { ...generationFields(request), model: request.model, prompt: request.prompt };
    return this.#stream('/completions', payload, 'completion', request.prompt, options);
  }

  async embeddings(request: EmbeddingRequest, options?: CallOptions): Promise<EmbeddingResult> {
    const body = asObject(await this.#client.postJson('/embeddings', { ...request.extra, model: request.model, input: request.input }, options));
    const data = body?.data;
    if (!Array.isArray(data)) throw this.#malformed('an embeddings answer without data');
    const rows = data.map((item) => asObject(item));
    const embeddings: number[][] = [];
    for (const [position, row] of rows.entries()) {
      const vector = row?.embedding;
      if (!Array.isArray(vector)) throw this.#malformed('an embedding that is not an array of numbers');
      embeddings[countField(row, 'index') ?? position] = vector as number[];
    }
    const promptTokens = countField(asObject(body?.usage), 'prompt_tokens');
    const usage =
      reportedUsage(promptTokens, 0) ?? (await estimateUsage(request.input, '', { completionTokens: 0 }));
    return { model: stringField(body, 'model') ?? request.model, embeddings, usage };
  }

  async listModels(options?: CallOptions): Promise<UpstreamModel[]> {
    const data = asObject(await this.#client.getJson('/models', options))?.data;
    if (!Array.isArray(data)) throw this.#malformed('a model list without data');
    return data.flatMap((item) => {
      const id = stringField(asObject(item), 'id');
      return id === undefined ? [] : [{ id }];
    });
  }

  async health(options?: CallOptions): Promise<void> {
    await this.listModels(options);
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
    const choice = firstElement(body?.choices);
    if (!body || !choice) throw this.#malformed('an answer without choices');
    const content = textOf(choice, dialect) ?? '';
    const counts = asObject(body.usage);
    const promptTokens = countField(counts, 'prompt_tokens');
    const completionTokens = countField(counts, 'completion_tokens');
    return {
      id: stringField(body, 'id') ?? '',
      model: stringField(body, 'model') ?? requestedModel,
      content,
      finishReason: stringField(choice, 'finish_reason') ?? null,
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
    const streamOptions = { ...asObject(payload.stream_options), include_usage: true };
    const body = await this.#client.postStream(path, { ...payload, stream: true, stream_options: streamOptions }, options);
    const state: StreamState = { parts: [], finishReason: null, promptTokens: undefined, completionTokens: undefined, done: false };
    const lines = new LineSplitter();
    const events = new SseDecoder();
    try {
      // Read to the end even after [DONE] so the connection goes back to the pool instead of being reset.
      for await (const bytes of body) {
        for (const line of lines.push(bytes as Buffer)) {
          const data = events.push(line);
          if (data === undefined || state.done) continue;
          const delta = this.#fold(data, dialect, state);
          if (delta) yield { delta };
        }
      }
      const tail = lines.end();
      const data = (tail === undefined ? undefined : events.push(tail)) ?? events.flush();
      if (data !== undefined && !state.done) {
        const delta = this.#fold(data, dialect, state);
        if (delta) yield { delta };
      }
    } catch (error) {
      throw failureFromException(this.name, error, options?.signal, 'body');
    }
    if (!state.done && state.finishReason === null) {
      throw new ProviderError('protocol', this.name, `${this.name} ended the stream before it finished`);
    }
    const usage =
      reportedUsage(state.promptTokens, state.completionTokens) ??
      (await estimateUsage(prompt, state.parts.join(''), state));
    yield { delta: '', finishReason: state.finishReason, usage };
  }

  /** Folds one SSE event into the state; returns the text it adds. */
  #fold(data: string, dialect: Dialect, state: StreamState): string | undefined {
    if (data === '[DONE]') {
      state.done = true;
      return undefined;
    }
    let event: JsonObject | undefined;
    try {
      event = asObject(JSON.parse(data));
    } catch {
      throw this.#malformed('a stream event that is not JSON');
    }
    if (!event) throw this.#malformed('a stream event that is not an object');
    if (event.error !== undefined && event.error !== null) {
      throw new ProviderError('server', this.name, `${this.name} reported an error mid-stream: ${upstreamMessage(data)}`);
    }
    // Usage may ride on the last chunk that still has choices (vLLM continuous usage, llama.cpp), or on
    // a chunk of its own with empty choices; the last one seen wins.
    const usage = asObject(event.usage);
    if (usage) {
      state.promptTokens = countField(usage, 'prompt_tokens') ?? state.promptTokens;
      state.completionTokens = countField(usage, 'completion_tokens') ?? state.completionTokens;
    }
    const choice = firstElement(event.choices);
    if (!choice) return undefined;
    const finishReason = stringField(choice, 'finish_reason');
    if (finishReason) state.finishReason = finishReason;
    const text = textOf(choice, dialect);
    if (text) state.parts.push(text);
    return text;
  }

  #malformed(what: string): ProviderError {
    return new ProviderError('protocol', this.name, `${this.name} sent ${what}`);
  }
}
