import { withModel } from '../shared/json-text.ts';
import { asObject, countField, stringField, type JsonObject } from './json-fields.ts';
import { LineSplitter } from './line-splitter.ts';
import type { CallOptions, ChatRequest, GenerationResult, StreamChunk, TokenUsage, WireRequest } from './provider.ts';
import { ProviderError } from './provider-error.ts';
import { SseDecoder } from './sse-decoder.ts';
import { estimateUsage, reportedUsage } from './token-estimator.ts';
import type { UpstreamClient } from './upstream-client.ts';
import { failureFromException, upstreamMessage } from './upstream-failure.ts';

// The Responses API passed through to an upstream that serves it (vLLM, recent Ollama): the request
// goes as the client sent it with the deployment's model, the answer and its events come back as they
// came with `model` set to the name the client asked for. Usage is read from the response's own block.

/** The upstream's model name goes out; the name the client asked for comes back. */
interface Names {
  upstream: string;
  asked: string;
}

const namesOf = (request: ChatRequest & { responses: WireRequest }): Names => ({ upstream: request.model, asked: String(request.responses.model) });

/** The response's usage block as the gateway counts it; undefined when the upstream gave none. */
function usageOf(response: JsonObject | undefined): TokenUsage | undefined {
  const block = asObject(response?.usage);
  const usage = reportedUsage(countField(block, 'input_tokens'), countField(block, 'output_tokens'));
  if (!usage) return undefined;
  const cached = countField(asObject(block?.input_tokens_details), 'cached_tokens');
  const reasoning = countField(asObject(block?.output_tokens_details), 'reasoning_tokens');
  if (cached !== undefined) usage.cachedTokens = cached;
  if (reasoning !== undefined) usage.reasoningTokens = reasoning;
  return usage;
}

/** The text of the response's message items. */
function outputText(response: JsonObject): string {
  const output = Array.isArray(response.output) ? response.output : [];
  let text = '';
  for (const item of output) {
    const content = asObject(item)?.content;
    if (!Array.isArray(content)) continue;
    for (const part of content) text += stringField(asObject(part), 'text') ?? '';
  }
  return text;
}

const finishOf = (response: JsonObject | undefined) => (stringField(response, 'status') === 'incomplete' ? 'length' : 'stop');

/** An event that carries the whole response (created, in_progress, completed...): its model is the one to rewrite. */
function withResponseModel(event: JsonObject, asked: string): string {
  const response = asObject(event.response);
  return JSON.stringify(response && 'model' in response ? { ...event, response: { ...response, model: asked } } : event);
}

/** The request, for a provider that serves the Responses API; a refusal naming the setting for one that does not. */
export function servingResponses(provider: { name: string; servesResponses: boolean }, request: ChatRequest): ChatRequest & { responses: WireRequest } {
  if (!provider.servesResponses || !request.responses) {
    const message = `${provider.name} does not serve the Responses API (its config does not say responses: true)`;
    throw new ProviderError('client', provider.name, message, { status: 400, upstreamMessage: message });
  }
  return request as ChatRequest & { responses: WireRequest };
}

export class ResponsesRelay {
  readonly #client: UpstreamClient;
  readonly #provider: string;
  readonly #path: string;

  constructor(client: UpstreamClient, provider: string, path: string) {
    this.#client = client;
    this.#provider = provider;
    this.#path = path;
  }

  async answer(request: ChatRequest & { responses: WireRequest }, options: CallOptions | undefined): Promise<GenerationResult> {
    const names = namesOf(request);
    const text = await this.#client.postText(this.#path, { ...request.responses, model: names.upstream }, options);
    const response = asObject(this.#client.parse(text));
    if (!response || !Array.isArray(response.output)) throw this.#malformed('a response without output');
    const content = outputText(response);
    const usage = usageOf(response) ?? (await estimateUsage(request.messages, content, {}));
    return { id: stringField(response, 'id') ?? '', model: stringField(response, 'model') ?? names.upstream, content, finishReason: finishOf(response), usage, wire: withModel(text, JSON.stringify(names.asked)) };
  }

  /**
   * The upstream's events, each relayed as it came (as `event: <type>` frames). A chunk leaves with
   * each delta, carrying the events since the last one; the last chunk carries the rest and the usage
   * of the terminal event (response.completed or response.incomplete).
   */
  async *stream(request: ChatRequest & { responses: WireRequest }, options: CallOptions | undefined): AsyncGenerator<StreamChunk, void, undefined> {
    const names = namesOf(request);
    const body = await this.#client.postStream(this.#path, { ...request.responses, model: names.upstream, stream: true }, options);
    const lines = new LineSplitter();
    const events = new SseDecoder();
    let pending = '';
    let text = '';
    let final: JsonObject | undefined;
    const take = (data: string): StreamChunk | undefined => {
      if (final || data === '[DONE]') return undefined;
      const event = this.#event(data);
      const type = stringField(event, 'type') ?? '';
      if (type === 'error' || type === 'response.failed') {
        throw new ProviderError('server', this.#provider, `${this.#provider} reported an error mid-stream: ${upstreamMessage(data)}`);
      }
      const carriesResponse = asObject(event.response) !== undefined;
      pending += `event: ${type}\ndata: ${carriesResponse ? withResponseModel(event, names.asked) : data}\n\n`;
      if (type === 'response.completed' || type === 'response.incomplete') final = asObject(event.response);
      if (!type.endsWith('.delta')) return undefined;
      const delta = type === 'response.output_text.delta' ? (stringField(event, 'delta') ?? '') : '';
      text += delta;
      const chunk: StreamChunk = { delta, wire: pending };
      pending = '';
      return chunk;
    };
    try {
      for await (const bytes of body) {
        for (const line of lines.push(bytes as Buffer)) {
          const data = events.push(line);
          const chunk = data === undefined ? undefined : take(data);
          if (chunk) yield chunk;
        }
      }
      const tail = lines.end();
      const data = (tail === undefined ? undefined : events.push(tail)) ?? events.flush();
      const chunk = data === undefined ? undefined : take(data);
      if (chunk) yield chunk;
    } catch (error) {
      if (error instanceof ProviderError) throw error;
      throw failureFromException(this.#provider, error, options?.signal, 'body');
    }
    if (!final) throw new ProviderError('protocol', this.#provider, `${this.#provider} ended the response stream before it finished`);
    const usage = usageOf(final) ?? (await estimateUsage(request.messages, text, {}));
    yield { delta: '', finishReason: finishOf(final), usage, wire: pending };
  }

  #event(data: string): JsonObject {
    let event: JsonObject | undefined;
    try {
      event = asObject(JSON.parse(data));
    } catch {
      throw this.#malformed('a stream event that is not JSON');
    }
    if (!event) throw this.#malformed('a stream event that is not an object');
    return event;
  }

  #malformed(what: string): ProviderError {
    return new ProviderError('protocol', this.#provider, `${this.#provider} sent ${what}`);
  }
}
