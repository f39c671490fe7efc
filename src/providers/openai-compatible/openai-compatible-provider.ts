import { asObject, countField, stringField, type JsonObject } from '../json-fields.ts';
import { LineSplitter } from '../line-splitter.ts';
import { ReadyChunks, withReadyChunks } from '../ready-chunks.ts';
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
  WireRequest,
} from '../provider.ts';
import { ResponsesRelay, servingResponses } from '../responses-relay.ts';
import { noCounts, readUsageBlock, withDetails, type ReportedCounts } from '../openai-usage.ts';
import { ProviderError } from '../provider-error.ts';
import { SseDecoder } from '../sse-decoder.ts';
import { estimateUsage, reportedUsage, type PromptText } from '../token-estimator.ts';
import { UpstreamClient, type UpstreamClientOptions } from '../upstream-client.ts';
import { failureFromException, upstreamMessage } from '../upstream-failure.ts';
import { withModel } from '../../shared/json-text.ts';

type Dialect = 'chat' | 'completion';

/** Mutable state of one stream while its events are folded in. */
interface StreamState {
  parts: string[];
  finishReason: string | null;
  counts: ReportedCounts;
  done: boolean;
  /** The last event's additions to the first choice, when it had any. */
  chunk: StreamChunk | undefined;
  /** The last event brought content, a tool call or reasoning to some choice. */
  progressed: boolean;
  /** The last event was a usage block without choices. */
  usageOnly: boolean;
  /** The last event, when it carried usage on a chunk with choices (vLLM's continuous usage, llama.cpp). */
  usageOnChoices: JsonObject | undefined;
  /** The last such event seen: its usage block makes the usage event of a stream that sent none of its own. */
  lastUsageOnChoices: JsonObject | undefined;
  /** The upstream sent a usage event of its own (empty choices). */
  sentUsageEvent: boolean;
}

/** How a stream's events reach a client that speaks OpenAI's wire: as they came, `model` rewritten. */
interface Relay {
  /** The name the client asked for, and the same as a JSON string literal. */
  model: string;
  quotedModel: string;
  /** The client asked for the usage event (include_usage is forced on for metering either way). */
  includeUsage: boolean;
  /** The client asked vLLM for usage on every chunk too (stream_options.continuous_usage_stats). */
  continuousUsage: boolean;
  /** SSE frames not handed over yet. */
  pending: string;
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

/** A request that came in on OpenAI's wire is answered on it: the relay for its stream. */
function relayFor(wire: JsonObject | undefined): Relay | undefined {
  if (!wire) return undefined;
  const streamOptions = asObject(wire.stream_options);
  const model = String(wire.model);
  return { model, quotedModel: JSON.stringify(model), includeUsage: streamOptions?.include_usage === true, continuousUsage: streamOptions?.continuous_usage_stats === true, pending: '' };
}

/**
 * The usage event OpenAI ends a stream with, for a client that asked for it, when the upstream put its
 * usage only on chunks with choices (stripped from them): the last such chunk's usage, choices empty.
 */
function usageEventFor(relay: Relay, state: StreamState): string {
  const event = state.lastUsageOnChoices;
  if (!relay.includeUsage || relay.continuousUsage || state.sentUsageEvent || !event) return '';
  return `data: ${JSON.stringify({ ...event, model: relay.model, choices: [] })}\n\n`;
}

/** A base64 embedding (little-endian float32) as numbers; copied, since a decoded Buffer may sit unaligned in a pool. */
function float32s(base64: string): number[] {
  return [...new Float32Array(new Uint8Array(Buffer.from(base64, 'base64')).buffer)];
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

/** Whether a streamed choice brings something to show: content, a tool call piece, reasoning. */
function choiceAdds(item: unknown): boolean {
  const choice = asObject(item);
  if (!choice) return false;
  if (typeof choice.text === 'string' && choice.text !== '') return true;
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
  readonly servesResponses: boolean;
  readonly #client: UpstreamClient;
  readonly #responses: ResponsesRelay;

  constructor(options: UpstreamClientOptions) {
    this.name = options.name;
    this.servesResponses = options.responses ?? false;
    this.#client = new UpstreamClient(options);
    this.#responses = new ResponsesRelay(this.#client, this.name, '/responses');
  }

  chat(request: ChatRequest, options?: CallOptions): Promise<GenerationResult> {
    if (request.responses) return this.#responses.answer(this.#servingResponses(request), options);
    const payload = request.wire
      ? { ...request.wire, model: request.model }
      : { ...generationFields(request), model: request.model, messages: request.messages, stream: false };
    return this.#generate('/chat/completions', payload, 'chat', request.messages, request.model, options);
  }

  stream(request: ChatRequest, options?: CallOptions): AsyncIterable<StreamChunk> {
    if (request.responses) return this.#responses.stream(this.#servingResponses(request), options);
    const payload = request.wire
      ? { ...request.wire, model: request.model }
      : { ...generationFields(request), model: request.model, messages: request.messages };
    return this.#stream('/chat/completions', payload, 'chat', request.messages, relayFor(request.wire), options);
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
    return this.#stream('/completions', payload, 'completion', request.prompt, relayFor(request.wire), options);
  }

  async embeddings(request: EmbeddingRequest, options?: CallOptions): Promise<EmbeddingResult> {
    const body = asObject(await this.#client.postJson('/embeddings', { ...request.extra, model: request.model, input: request.input }, options));
    const data = body?.data;
    if (!Array.isArray(data)) throw this.#malformed('an embeddings answer without data');
    const rows = data.map((item) => asObject(item));
    const embeddings: number[][] = [];
    for (const [position, row] of rows.entries()) {
      const vector = row?.embedding;
      // A client that asked for encoding_format base64 gets it from the upstream: little-endian float32.
      if (typeof vector === 'string') embeddings[countField(row, 'index') ?? position] = float32s(vector);
      else if (Array.isArray(vector)) embeddings[countField(row, 'index') ?? position] = vector as number[];
      else throw this.#malformed('an embedding that is neither numbers nor base64');
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
    const text = await this.#client.postText(path, payload, options);
    const body = asObject(this.#client.parse(text));
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
      wire: text,
    };
  }

  #stream(
    path: string,
    payload: JsonObject,
    dialect: Dialect,
    prompt: PromptText,
    relay: Relay | undefined,
    options: CallOptions | undefined,
  ): AsyncIterable<StreamChunk> {
    const ready = new ReadyChunks();
    return withReadyChunks(this.#events(path, payload, dialect, prompt, relay, options, ready), ready);
  }

  /** Decodes each read's events into `ready` and yields those no consumer took from there first. */
  async *#events(
    path: string,
    payload: JsonObject,
    dialect: Dialect,
    prompt: PromptText,
    relay: Relay | undefined,
    options: CallOptions | undefined,
    ready: ReadyChunks,
  ): AsyncGenerator<StreamChunk, void, undefined> {
    const streamOptions = { ...asObject(payload.stream_options), include_usage: true };
    const body = await this.#client.postStream(path, { ...payload, stream: true, stream_options: streamOptions }, options);
    const state: StreamState = {
      parts: [],
      finishReason: null,
      counts: noCounts(),
      done: false,
      chunk: undefined,
      progressed: false,
      usageOnly: false,
      usageOnChoices: undefined,
      lastUsageOnChoices: undefined,
      sentUsageEvent: false,
    };
    const lines = new LineSplitter();
    const events = new SseDecoder();
    try {
      // Read to the end even after [DONE] so the connection goes back to the pool instead of being reset.
      for await (const bytes of body) {
        // A malformed event fails the stream only after the chunks before it were handed over.
        let failure: unknown;
        try {
          for (const line of lines.push(bytes as Buffer)) {
            const data = events.push(line);
            if (data === undefined || state.done) continue;
            const chunk = this.#next(data, dialect, state, relay);
            if (chunk) ready.push(chunk);
          }
        } catch (error) {
          failure = error;
        }
        for (let chunk = ready.take(); chunk; chunk = ready.take()) yield chunk;
        if (failure !== undefined) throw failure;
      }
      const tail = lines.end();
      const data = (tail === undefined ? undefined : events.push(tail)) ?? events.flush();
      if (data !== undefined && !state.done) {
        const chunk = this.#next(data, dialect, state, relay);
        if (chunk) yield chunk;
      }
    } catch (error) {
      throw failureFromException(this.name, error, options?.signal, 'body');
    }
    if (!state.done && state.finishReason === null) {
      throw new ProviderError('protocol', this.name, `${this.name} ended the stream before it finished`);
    }
    const counts = state.counts;
    const usage =
      reportedUsage(counts.promptTokens, counts.completionTokens) ??
      (await estimateUsage(prompt, state.parts.join(''), counts));
    const last: StreamChunk = { delta: '', finishReason: state.finishReason, usage: withDetails(usage, counts) };
    if (relay) last.wire = relay.pending + usageEventFor(relay, state);
    yield last;
  }

  /**
   * The chunk one event makes, if any. Relaying, the event's frame joins those pending, and they leave
   * with the next event that shows progress (so the first chunk is the first token, and a role event
   * or the finish and usage events add no chunk of their own); the rest leave with the last chunk.
   */
  #next(data: string, dialect: Dialect, state: StreamState, relay: Relay | undefined): StreamChunk | undefined {
    this.#fold(data, dialect, state);
    if (!relay) return state.chunk;
    if (state.done || (state.usageOnly && !relay.includeUsage)) return undefined;
    if (state.usageOnChoices && !relay.continuousUsage) {
      // OpenAI sends usage only in an event of its own at the end: a client not asking for more sees it there or nowhere.
      const { usage: _usage, ...event } = state.usageOnChoices;
      relay.pending += `data: ${JSON.stringify({ ...event, model: relay.model })}\n\n`;
    } else {
      relay.pending += `data: ${withModel(data, relay.quotedModel)}\n\n`;
    }
    if (!state.progressed) return undefined;
    const chunk = state.chunk ?? { delta: '' };
    chunk.wire = relay.pending;
    relay.pending = '';
    return chunk;
  }

  /** Folds one SSE event into the state, with what it adds to the first choice. */
  #fold(data: string, dialect: Dialect, state: StreamState): void {
    state.chunk = undefined;
    state.progressed = false;
    state.usageOnly = false;
    state.usageOnChoices = undefined;
    if (data === '[DONE]') {
      state.done = true;
      return;
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
    state.usageOnly = usage !== undefined && choices.length === 0;
    if (state.usageOnly) state.sentUsageEvent = true;
    else if (usage !== undefined) state.usageOnChoices = state.lastUsageOnChoices = event;
    for (const item of choices) {
      const finishReason = stringField(asObject(item), 'finish_reason');
      if (finishReason && (state.finishReason === null || asObject(item)?.index === 0)) state.finishReason = finishReason;
      if (!state.progressed && choiceAdds(item)) state.progressed = true;
    }
    const choice = firstChoice(choices);
    if (!choice) return;
    const text = textOf(choice, dialect);
    if (text) state.parts.push(text);
    const delta = asObject(choice.delta);
    const toolCalls = delta?.tool_calls;
    const reasoning = reasoningOf(delta);
    if (!text && !Array.isArray(toolCalls) && !reasoning) return;
    const chunk: StreamChunk = { delta: text ?? '' };
    if (Array.isArray(toolCalls)) chunk.toolCalls = toolCalls as ToolCallDelta[];
    if (reasoning) chunk.reasoning = reasoning;
    state.chunk = chunk;
  }

  #servingResponses(request: ChatRequest): ChatRequest & { responses: WireRequest } {
    return servingResponses(this, request);
  }

  #malformed(what: string): ProviderError {
    return new ProviderError('protocol', this.name, `${this.name} sent ${what}`);
  }
}
