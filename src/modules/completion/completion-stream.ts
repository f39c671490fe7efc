import type { StreamChunk, TokenUsage } from '../../providers/provider.ts';

/** What a completion stream reads from: the routed upstream stream, or a cached answer replayed. */
export interface StreamSource {
  next(): Promise<IteratorResult<StreamChunk, undefined>>;
  /** The next chunk if it can be had without a wait; undefined leaves it (or the end) to next(). */
  nextReady?(): IteratorResult<StreamChunk, undefined> | undefined;
  return(): Promise<unknown>;
  /** The answer's usage once it ended; before, an estimate of what was streamed. */
  usage(): Promise<TokenUsage>;
}

export type StreamEnd = { status: 'ok' | 'cancelled' } | { status: 'error'; error: unknown };

/**
 * A routed stream as the surfaces consume it. Whatever the end (completed, broken, the consumer gone
 * before or during iteration), `onEnd` runs exactly once, after the upstream is released.
 */
export class CompletionStream implements AsyncIterableIterator<StreamChunk, undefined> {
  readonly id: string;
  readonly created: number;
  /** The name the caller asked for: what responses echo back. */
  readonly model: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly #routed: StreamSource;
  readonly #onEnd: (end: StreamEnd, usage: TokenUsage) => Promise<void>;
  #ended: Promise<void> | undefined;

  constructor(init: {
    id: string;
    model: string;
    headers: Readonly<Record<string, string>>;
    routed: StreamSource;
    onEnd: (end: StreamEnd, usage: TokenUsage) => Promise<void>;
  }) {
    this.id = init.id;
    this.created = Math.floor(Date.now() / 1000);
    this.model = init.model;
    this.headers = init.headers;
    this.#routed = init.routed;
    this.#onEnd = init.onEnd;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The next chunk if it can be had without a wait; undefined leaves it, or the end, to next(). */
  nextReady(): IteratorResult<StreamChunk, undefined> | undefined {
    return this.#ended ? undefined : this.#routed.nextReady?.();
  }

  async next(): Promise<IteratorResult<StreamChunk, undefined>> {
    if (this.#ended) return { done: true, value: undefined };
    let result: IteratorResult<StreamChunk, undefined>;
    try {
      result = await this.#routed.next();
    } catch (error) {
      await this.#end({ status: 'error', error });
      throw error;
    }
    if (result.done) await this.#end({ status: 'ok' });
    return result;
  }

  /** The consumer stopped early (client gone, subscription closed): abort the upstream and settle. */
  async return(): Promise<IteratorResult<StreamChunk, undefined>> {
    await this.#routed.return();
    await this.#end({ status: 'cancelled' });
    return { done: true, value: undefined };
  }

  #end(end: StreamEnd): Promise<void> {
    this.#ended ??= this.#routed.usage().then((usage) => this.#onEnd(end, usage));
    return this.#ended;
  }
}
