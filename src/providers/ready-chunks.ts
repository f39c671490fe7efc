import type { StreamChunk } from './provider.ts';

/**
 * A stream's chunks already decoded from an upstream read but not handed over yet. Several events often
 * arrive in one read; a consumer that takes them here skips a promise and a microtask per chunk at each
 * layer of async iteration between it and the provider.
 */
export class ReadyChunks {
  #chunks: StreamChunk[] = [];
  #head = 0;

  push(chunk: StreamChunk): void {
    this.#chunks.push(chunk);
  }

  /** The oldest chunk not handed over, if any. */
  take(): StreamChunk | undefined {
    if (this.#head === this.#chunks.length) return undefined;
    const chunk = this.#chunks[this.#head++];
    if (this.#head === this.#chunks.length) {
      this.#chunks.length = 0;
      this.#head = 0;
    }
    return chunk;
  }
}

/** A provider's stream iterator that also hands over chunks already read, without a wait. */
export interface ReadyChunkIterator extends AsyncIterator<StreamChunk, void, undefined> {
  takeReady(): StreamChunk | undefined;
}

/** The iterator's `takeReady`, when it has one (an adapter that decodes events in batches). */
export function readyTaker(iterator: AsyncIterator<StreamChunk>): (() => StreamChunk | undefined) | undefined {
  const candidate = iterator as Partial<ReadyChunkIterator>;
  return typeof candidate.takeReady === 'function' ? () => candidate.takeReady!() : undefined;
}

/**
 * An async iterable over `generator` that also offers `ready`'s chunks through `takeReady`. The
 * generator yields each chunk it pushed to `ready` unless a consumer took it first, so consumers that
 * only call next() see every chunk, in order.
 */
export function withReadyChunks(generator: AsyncGenerator<StreamChunk, void, undefined>, ready: ReadyChunks): AsyncIterable<StreamChunk> {
  const iterator: ReadyChunkIterator & AsyncIterable<StreamChunk> = {
    next: () => generator.next(),
    return: () => generator.return(undefined),
    throw: (error: unknown) => generator.throw(error),
    takeReady: () => ready.take(),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
