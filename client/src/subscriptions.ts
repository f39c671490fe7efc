import { createClient, type Client } from 'graphql-ws/client';
import { toTollgateError, TollgateError, type GraphQLErrorShape } from './errors.ts';
import { subscribeOverSse } from './sse.ts';

export interface SubscriptionTransportOptions {
  graphqlUrl: string;
  authHeaders: () => Promise<Record<string, string>>;
  /** A WebSocket implementation for runtimes without a global one (e.g. the `ws` package on old Node). */
  webSocketImpl?: unknown;
  /** Force SSE (one HTTP request per subscription) instead of WebSockets. */
  transport?: 'websocket' | 'sse';
  fetch: typeof globalThis.fetch;
}

interface Operation {
  query: string;
  variables: unknown;
  /** Re-subscribe after a dropped connection? Yes for watches; never for completions (that would run them twice). */
  resubscribe: boolean;
}

const SOCKET_CLOSING = 2;

const retryWait = async (retries: number) => {
  const delay = Math.min(30_000, 500 * 2 ** retries) * (0.5 + Math.random() / 2);
  await new Promise((resolve) => setTimeout(resolve, delay));
};

/** Subscriptions over graphql-ws (reconnecting with backoff), or over SSE where WebSockets are unavailable. */
export class SubscriptionTransport {
  readonly #options: SubscriptionTransportOptions;
  #ws: Client | undefined;
  /** The latest socket, to tell a close still under way (a lazy close after the last operation) from a drop. */
  #socket: { readyState: number } | undefined;

  constructor(options: SubscriptionTransportOptions) {
    this.#options = options;
  }

  subscribe<T>(operation: Operation, signal?: AbortSignal): AsyncIterableIterator<T> {
    const useSse = this.#options.transport === 'sse' || (!this.#options.webSocketImpl && typeof globalThis.WebSocket === 'undefined');
    return useSse ? this.#sse<T>(operation, signal) : this.#websocket<T>(operation, signal);
  }

  async dispose(): Promise<void> {
    await this.#ws?.dispose();
    this.#ws = undefined;
  }

  async *#sse<T>(operation: Operation, signal: AbortSignal | undefined): AsyncIterableIterator<T> {
    const controller = new AbortController();
    signal?.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
    try {
      const frames = subscribeOverSse(this.#options.graphqlUrl, { query: operation.query, variables: operation.variables }, await this.#options.authHeaders(), controller.signal, this.#options.fetch);
      for await (const data of frames) yield data as T;
    } finally {
      controller.abort();
    }
  }

  #client(): Client {
    this.#ws ??= createClient({
      url: this.#options.graphqlUrl.replace(/^http/, 'ws'),
      webSocketImpl: this.#options.webSocketImpl,
      lazy: true,
      connectionParams: () => this.#options.authHeaders(),
      retryAttempts: 8,
      shouldRetry: () => true,
      retryWait,
    });
    this.#ws.on('opened', (socket) => (this.#socket = socket as { readyState: number }));
    return this.#ws;
  }

  #websocket<T>(operation: Operation, signal: AbortSignal | undefined): AsyncIterableIterator<T> {
    const client = this.#client();
    // A socket still closing after the previous operation will report its close; this operation is not on it.
    let staleCloses = this.#socket?.readyState === SOCKET_CLOSING ? 1 : 0;
    const queue: T[] = [];
    let failure: unknown;
    let finished = false;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    const unsubscribe = client.subscribe<T>(
      { query: operation.query, variables: operation.variables as Record<string, unknown> },
      {
        next: (result) => {
          const [first] = (result.errors ?? []) as GraphQLErrorShape[];
          if (first) failure = toTollgateError(first);
          else queue.push(result.data as T);
          notify();
        },
        error: (error: unknown) => {
          failure = Array.isArray(error) && error[0] ? toTollgateError(error[0] as GraphQLErrorShape) : asError(error);
          notify();
        },
        complete: () => {
          finished = true;
          notify();
        },
      },
    );
    const stopClosed = operation.resubscribe
      ? undefined
      : client.on('closed', () => {
          if (finished) return;
          if (staleCloses > 0) {
            staleCloses -= 1;
            return;
          }
          failure ??= new TollgateError('the connection to the gateway closed before the operation completed', 'UPSTREAM_ERROR');
          unsubscribe();
          notify();
        });
    const stop = () => {
      finished = true;
      unsubscribe();
      stopClosed?.();
      notify();
    };
    signal?.addEventListener('abort', stop, { once: true });

    return {
      [Symbol.asyncIterator]() {
        return this;
      },
      async next(): Promise<IteratorResult<T>> {
        for (;;) {
          if (queue.length > 0) return { done: false, value: queue.shift() as T };
          if (failure) {
            const error = failure;
            stop();
            throw error;
          }
          if (finished) {
            stopClosed?.();
            return { done: true, value: undefined };
          }
          await new Promise<void>((resolve) => (wake = resolve));
        }
      },
      async return(): Promise<IteratorResult<T>> {
        stop();
        return { done: true, value: undefined };
      },
    };
  }
}

function asError(error: unknown): TollgateError {
  if (error instanceof TollgateError) return error;
  const reason = error instanceof Error ? error.message : typeof (error as { reason?: string })?.reason === 'string' ? (error as { reason: string }).reason : String(error);
  const code = (error as { code?: number })?.code === 4403 ? 'UNAUTHENTICATED' : 'UPSTREAM_ERROR';
  return new TollgateError(`subscription failed: ${reason || 'connection closed'}`, code);
}
