import { toTollgateError, TollgateError, type GraphQLErrorShape } from './errors.ts';
import {
  ChatCompletionDocument,
  QuotaUpdatedDocument,
  type ChatCompletionInput,
  type ChatCompletionSubscription,
  type QuotaUpdatedSubscription,
  type TypedDocumentString,
} from './generated/graphql.ts';
import { SubscriptionTransport } from './subscriptions.ts';

export type ChatCompletionChunk = ChatCompletionSubscription['chatCompletion'];
export type QuotaUpdate = QuotaUpdatedSubscription['quotaUpdated'];

export interface TollgateClientOptions {
  /** Base URL of the gateway, e.g. https://llm.example.com (the client adds /graphql). */
  url: string;
  /** A tenant API key (tg_...), a dashboard JWT, or the platform admin key. */
  apiKey?: string;
  token?: string;
  /** Called before each request, for tokens that refresh. */
  getToken?: () => string | Promise<string>;
  /** For the platform admin acting for a tenant. */
  tenantId?: string;
  fetch?: typeof globalThis.fetch;
  /** A WebSocket implementation where there is no global one (e.g. `ws` on Node < 22). */
  webSocketImpl?: unknown;
  /** Subscriptions over WebSocket (default where available) or SSE. */
  transport?: 'websocket' | 'sse';
}

export interface TollgateClient {
  /** Runs a generated operation and returns its typed data, or throws a TollgateError subclass. */
  execute<TResult, TVariables>(
    document: TypedDocumentString<TResult, TVariables>,
    ...variables: TVariables extends Record<string, never> ? [] : [TVariables]
  ): Promise<TResult>;
  /** Runs any generated subscription; the iterator ends when the server completes it. */
  subscribe<TResult, TVariables>(
    document: TypedDocumentString<TResult, TVariables>,
    variables: TVariables,
    options?: { signal?: AbortSignal; resubscribeOnReconnect?: boolean },
  ): AsyncIterableIterator<TResult>;
  /**
   * Streams a chat completion, one chunk per upstream delta; the last carries finishReason and usage.
   * Breaking out of the loop (or aborting `signal`) stops the upstream request. A dropped connection
   * ends the stream with an error rather than running the completion again.
   */
  streamCompletion(input: ChatCompletionInput, options?: { signal?: AbortSignal }): AsyncIterableIterator<ChatCompletionChunk>;
  /**
   * Quota changes of a tenant (the caller's own without `tenantId`): alerts at 80% and 100% of the
   * monthly tokens. Survives reconnects, re-subscribing with backoff.
   */
  watchQuota(tenantId?: string, options?: { signal?: AbortSignal }): AsyncIterableIterator<QuotaUpdate>;
  /** The header set the client sends, for transports built on top (WebSocket, SSE). */
  authHeaders(): Promise<Record<string, string>>;
  /** Closes the WebSocket, if one was opened. */
  close(): Promise<void>;
  readonly graphqlUrl: string;
}

export function createTollgateClient(options: TollgateClientOptions): TollgateClient {
  const graphqlUrl = `${options.url.replace(/\/+$/, '')}/graphql`;
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);

  const authHeaders = async (): Promise<Record<string, string>> => {
    const secret = options.getToken ? await options.getToken() : (options.token ?? options.apiKey);
    return {
      ...(secret ? { authorization: `Bearer ${secret}` } : {}),
      ...(options.tenantId ? { 'x-tenant-id': options.tenantId } : {}),
    };
  };

  const subscriptions = new SubscriptionTransport({
    graphqlUrl,
    authHeaders,
    webSocketImpl: options.webSocketImpl,
    transport: options.transport,
    fetch: doFetch,
  });

  async function* mapChunks(source: AsyncIterableIterator<ChatCompletionSubscription>): AsyncIterableIterator<ChatCompletionChunk> {
    for await (const value of source) yield value.chatCompletion;
  }

  async function* mapQuota(source: AsyncIterableIterator<QuotaUpdatedSubscription>): AsyncIterableIterator<QuotaUpdate> {
    for await (const value of source) yield value.quotaUpdated;
  }

  return {
    graphqlUrl,
    authHeaders,
    close: () => subscriptions.dispose(),
    subscribe: (document, variables, subscribeOptions = {}) =>
      subscriptions.subscribe(
        { query: document.toString(), variables, resubscribe: subscribeOptions.resubscribeOnReconnect ?? true },
        subscribeOptions.signal,
      ),
    watchQuota: (tenantId, watchOptions = {}) =>
      mapQuota(
        subscriptions.subscribe<QuotaUpdatedSubscription>(
          { query: QuotaUpdatedDocument.toString(), variables: { tenantId: tenantId ?? null }, resubscribe: true },
          watchOptions.signal,
        ),
      ),
    streamCompletion: (input, streamOptions = {}) =>
      mapChunks(
        subscriptions.subscribe<ChatCompletionSubscription>({ query: ChatCompletionDocument.toString(), variables: { input }, resubscribe: false }, streamOptions.signal),
      ),
    async execute(document, ...rest) {
      const response = await doFetch(graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...(await authHeaders()) },
        body: JSON.stringify({ query: document.toString(), variables: rest[0] ?? {} }),
      });
      const requestId = response.headers.get('x-request-id') ?? undefined;
      let body: { data?: unknown; errors?: GraphQLErrorShape[] };
      try {
        body = (await response.json()) as typeof body;
      } catch {
        throw new TollgateError(`the gateway answered ${response.status} without a GraphQL body`, 'INTERNAL_SERVER_ERROR', {}, undefined, requestId);
      }
      const [first] = body.errors ?? [];
      if (first) throw toTollgateError(first, requestId);
      return body.data as never;
    },
  };
}
