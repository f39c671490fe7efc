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
  ToolCall,
  ToolCallDelta,
  UpstreamModel,
} from '../provider.ts';
import { noCounts, readUsageBlock, withDetails, type ReportedCounts } from '../openai-usage.ts';
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
  counts: ReportedCounts;
  done: boolean;
  /** Events that carry nothing yet (a role chunk), relayed with the next one that does. */
  held: string[];
}

/** What one event adds to the first choice, the one the typed surfaces show. */
interface Folded {
  chunk: StreamChunk | undefined;
  /** Any choice gained content, a tool call, reasoning or a finish reason, or the event carries usage. */
  substantive: boolean;
  /** The event is a usage block without choices. */
  usageOnly: boolean;
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

/** The first choice: the one with index 0, or the first listed when indexes are left out. */
function firstChoice(choices: unknown): JsonObject | undefined {
  if (!Array.isArray(choices)) return undefined;
  for (const item of choices) {
    const choice = asObject(item);
    if (choice && (choice.index === 0 || choice.index === undefined)) return choice;
  }
  return undefined;
}

function textOf(choice: JsonObject | undefined, dialect: Dialect): string | undefined {
  if (dialect === 'completion') return stringField(choice, 'text');
  return stringField(asObject(choice?.message) ?? asObject(choice?.delta), 'content');
}

/** vLLM and DeepSeek call it reasoning_content, others reasoning. */
function reasoningOf(message: JsonObject | undefined): string | undefined {
  return stringField(message, 'reasoning_content') ?? stringField(message, 'reasoning');
}

/** Whether a streamed choice brings anything: content, a tool call piece, reasoning or its end. */
function choiceAdds(item: unknown): boolean {
  const choice = asObject(item);
  if (!choice) return false;
  if (typeof choice.finish_reason === 'string' || typeof choice.text === 'string' && choice.text !== '') return true;
  const delta = asObject(choice.delta);
  if (!delta) return false;
  return (typeof delta.content === 'string' && delta.content !== '') || Array.isArray(delta.tool_calls) || !!reasoningOf(delta) || delta.refusal != null || delta.audio != null;
}

/**
 * Any server that speaks OpenAI's /v1 API: vLLM, llama.cpp server, TGI, Groq, OpenRouter and the like.
 * A request that came in on OpenAI's wire goes upstream as it came, with the deployment's model, and
 * the answer comes back whole for the surface to relay. Streams always ask for
 * stream_options.include_usage so counts come from the upstream when it can.
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
    const payload = request.wire
      ? { ...request.wire, model: request.model }
      : { ...generationFields(request), model: request.model, messages: request.messages, stream: false };
    return this.#generate('/chat/completions', payload, 'chat', request.messages, request.model, options);
  }

  stream(request: ChatRequest, options?: CallOptions): AsyncIterable<StreamChunk> {
    const payload = request.wire
      ? { ...request.wire, model: request.model }
      : { ...generationFields(request), model: request.model, messages: request.messages };
    return this.#stream('/chat/completions', payload, 'chat', request.messages, request.wire !== undefined, options);
  }

  complete(request: CompletionRequest, options?: CallOptions): Promise<GenerationResult> {
    const payload = request.wire
      ? { ...request.wire, model: request.model }
      : { ...generationFields(request), model: request.model, prompt: request.prompt, stream: false };
    return this.#generate('/completions', payload, 'completion', request.prompt, request.model, options);
  }

  streamCompletion(request: CompletionRequest, options?: CallOptions): AsyncIterable<StreamChunk> {
    const payload = request.wire
      ? { ...request.wire, model: request.model }
      : { ...generationFields(request), model: request.model, prompt: request.prompt };
    return this.#stream('/completions', payload, 'completion', request.prompt, request.wire !== undefined, options);
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
    if (!body || !Array.isArray(body.choices)) throw this.#malformed('an answer without choices');
    const choice = firstChoice(body.choices);
    const message = asObject(choice?.message);
    const content = textOf(choice, dialect) ?? '';
    const counts = noCounts();
    readUsageBlock(asObject(body.usage), counts);
    const usage =
      reportedUsage(counts.promptTokens, counts.completionTokens) ??
      (await estimateUsage(prompt, content, counts));
    const toolCalls = message?.tool_calls;
    const reasoning = reasoningOf(message);
    return {
      id: stringField(body, 'id') ?? '',
      model: stringField(body, 'model') ?? requestedModel,
      content,
      finishReason: stringField(choice, 'finish_reason') ?? null,
      usage: withDetails(usage, counts),
      ...(Array.isArray(toolCalls) ? { toolCalls: toolCalls as ToolCall[] } : {}),
      ...(reasoning === undefined ? {} : { reasoning }),
      wire: body,
    };
  }

  async *#stream(
    path: string,
    payload: JsonObject,
    dialect: Dialect,
    prompt: PromptText,
    relay: boolean,
    options: CallOptions | undefined,
  ): AsyncGenerator<StreamChunk, void, undefined> {
    const streamOptions = { ...asObject(payload.stream_options), include_usage: true };
    const body = await this.#client.postStream(path, { ...payload, stream: true, stream_options: streamOptions }, options);
    const state: StreamState = { parts: [], finishReason: null, counts: noCounts(), done: false, held: [] };
    const lines = new LineSplitter();
    const events = new SseDecoder();
    try {
      // Read to the end even after [DONE] so the connection goes back to the pool instead of being reset.
      for await (const bytes of body) {
        for (const line of lines.push(bytes as Buffer)) {
          const data = events.push(line);
          if (data === undefined || state.done) continue;
          yield* this.#chunks(data, dialect, state, relay);
        }
      }
      const tail = lines.end();
      const data = (tail === undefined ? undefined : events.push(tail)) ?? events.flush();
      if (data !== undefined && !state.done) yield* this.#chunks(data, dialect, state, relay);
    } catch (error) {
      throw failureFromException(this.name, error, options?.signal, 'body');
    }
    if (!state.done && state.finishReason === null) {
      throw new ProviderError('protocol', this.name, `${this.name} ended the stream before it finished`);
    }
    for (const wire of state.held) yield { delta: '', wire };
    const counts = state.counts;
    const usage =
      reportedUsage(counts.promptTokens, counts.completionTokens) ??
      (await estimateUsage(prompt, state.parts.join(''), counts));
    yield { delta: '', finishReason: state.finishReason, usage: withDetails(usage, counts) };
  }

  /**
   * The chunks one event makes. Relaying, every event is one (an event that brings nothing yet waits
   * for the next, so the first chunk is the first token); otherwise only those that add to the first choice.
   */
  *#chunks(data: string, dialect: Dialect, state: StreamState, relay: boolean): Generator<StreamChunk, void, undefined> {
    const { chunk, substantive, usageOnly } = this.#fold(data, dialect, state);
    if (!relay) {
      if (chunk) yield chunk;
      return;
    }
    if (state.done) return;
    if (!substantive) {
      state.held.push(data);
      return;
    }
    if (state.held.length > 0) {
      for (const wire of state.held) yield { delta: '', wire };
      state.held = [];
    }
    const relayed = chunk ?? { delta: '' };
    relayed.wire = data;
    if (usageOnly) relayed.usageOnly = true;
    yield relayed;
  }

  /** Folds one SSE event into the state; returns what it adds to the first choice. */
  #fold(data: string, dialect: Dialect, state: StreamState): Folded {
    if (data === '[DONE]') {
      state.done = true;
      return { chunk: undefined, substantive: false, usageOnly: false };
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
    readUsageBlock(usage, state.counts);
    const choices = Array.isArray(event.choices) ? event.choices : [];
    const usageOnly = usage !== undefined && choices.length === 0;
    let substantive = usage !== undefined;
    for (const item of choices) {
      const finishReason = stringField(asObject(item), 'finish_reason');
      if (finishReason && (state.finishReason === null || asObject(item)?.index === 0)) state.finishReason = finishReason;
      substantive ||= choiceAdds(item);
    }
    const choice = firstChoice(choices);
    if (!choice) return { chunk: undefined, substantive, usageOnly };
    const text = textOf(choice, dialect);
    if (text) state.parts.push(text);
    const delta = asObject(choice.delta);
    const toolCalls = delta?.tool_calls;
    const reasoning = reasoningOf(delta);
    if (!text && !Array.isArray(toolCalls) && !reasoning) return { chunk: undefined, substantive, usageOnly };
    const chunk: StreamChunk = { delta: text ?? '' };
    if (Array.isArray(toolCalls)) chunk.toolCalls = toolCalls as ToolCallDelta[];
    if (reasoning) chunk.reasoning = reasoning;
    return { chunk, substantive, usageOnly };
  }

  #malformed(what: string): ProviderError {
    return new ProviderError('protocol', this.name, `${this.name} sent ${what}`);
  }
}
