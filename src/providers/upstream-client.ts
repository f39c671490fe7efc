import { Pool, type Dispatcher } from 'undici';
import type { CallOptions } from './provider.ts';
import { ProviderError } from './provider-error.ts';
import { failureFromException, failureFromStatus } from './upstream-failure.ts';

export interface UpstreamClientOptions {
  /** Provider name, used in error messages and logs. */
  name: string;
  /** Base URL; its path (e.g. "/v1") prefixes every request path. */
  baseUrl: string;
  /** The provider's own bearer key; a call's apiKey replaces it. */
  apiKey?: string;
  connectTimeoutMs?: number;
  /** The upstream serves the Responses API itself (the provider's `responses: true`). */
  responses?: boolean;
}

export type ResponseBody = Dispatcher.ResponseData['body'];

const utf8 = new TextEncoder();

// Error bodies are read only to quote them; a misbehaving upstream must not make us buffer megabytes.
const maxErrorBodyBytes = 16 * 1024;

/**
 * HTTP to one upstream over a keep-alive undici Pool. Timeouts beyond connect are the router's
 * (first token, idle, total), enforced through the call's signal, so undici's own are switched off.
 */
export class UpstreamClient {
  readonly name: string;
  readonly #pool: Pool;
  readonly #pathPrefix: string;
  readonly #apiKey: string | undefined;

  constructor(options: UpstreamClientOptions) {
    const url = new URL(options.baseUrl);
    this.name = options.name;
    this.#pathPrefix = url.pathname.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.#pool = new Pool(url.origin, {
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 30_000,
    });
  }

  /** POSTs JSON and returns the parsed JSON answer. */
  async postJson(path: string, payload: unknown, call: CallOptions = {}): Promise<unknown> {
    return this.parse(await this.postText(path, payload, call));
  }

  /** POSTs JSON and returns the answer's text, for a caller that relays it as it came. */
  async postText(path: string, payload: unknown, call: CallOptions = {}): Promise<string> {
    const response = await this.#send('POST', path, payload, call);
    return this.#readText(response.body, call);
  }

  async getJson(path: string, call: CallOptions = {}): Promise<unknown> {
    const response = await this.#send('GET', path, undefined, call);
    return this.parse(await this.#readText(response.body, call));
  }

  /** POSTs JSON and hands back the body of a 2xx answer for incremental reading. */
  async postStream(path: string, payload: unknown, call: CallOptions = {}): Promise<ResponseBody> {
    const response = await this.#send('POST', path, payload, call);
    return response.body;
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  async #send(method: 'GET' | 'POST', path: string, payload: unknown, call: CallOptions): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = { accept: 'application/json, text/event-stream, application/x-ndjson' };
    const apiKey = call.apiKey ?? this.#apiKey;
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    if (call.requestId) headers['x-request-id'] = call.requestId;
    if (call.traceparent) headers.traceparent = call.traceparent;
    let body: Uint8Array | undefined;
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      // undici holds a string body twice until the answer ends (the string and its encoding), and a
      // stream's answer can take minutes: encoded here, the one copy is all it keeps.
      body = utf8.encode(JSON.stringify(payload));
    }
    let response: Dispatcher.ResponseData;
    try {
      response = await this.#pool.request({ method, path: this.#pathPrefix + path, headers, body, signal: call.signal });
    } catch (error) {
      throw failureFromException(this.name, error, call.signal, 'request');
    }
    if (response.statusCode >= 200 && response.statusCode < 300) return response;
    const text = await readBounded(response.body, maxErrorBodyBytes).catch(() => '');
    throw failureFromStatus(this.name, response.statusCode, response.headers, text);
  }

  async #readText(body: ResponseBody, call: CallOptions): Promise<string> {
    try {
      return await body.text();
    } catch (error) {
      throw failureFromException(this.name, error, call.signal, 'body');
    }
  }

  /** The answer as JSON; a body that is not JSON is the upstream breaking the protocol. */
  parse(text: string): unknown {
    try {
      return JSON.parse(text);
    } catch {
      throw new ProviderError('protocol', this.name, `${this.name} sent a body that is not JSON`);
    }
  }
}

async function readBounded(body: ResponseBody, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    chunks.push(buffer);
    size += buffer.length;
    if (size >= limit) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
