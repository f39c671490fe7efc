import type { ServerResponse } from 'node:http';

const DONE = 'data: [DONE]\n\n';

/** One SSE frame carrying `json` as its data. */
export const sseFrame = (json: string): string => `data: ${json}\n\n`;

/**
 * Server-sent events the way OpenAI's SDKs read them: `data: <json>` frames, then `data: [DONE]`.
 * The headers leave with the first frame rather than in a write of their own (it follows at once: a
 * stream is handed over with its first chunk), and node:http already sends the frames written in one
 * turn of the event loop (several upstream events often arrive in one read) in one write.
 */
export class SseWriter {
  readonly #res: ServerResponse;

  constructor(res: ServerResponse, headers: Record<string, string>) {
    this.#res = res;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      ...headers,
    });
  }

  get closed(): boolean {
    return this.#res.destroyed || this.#res.writableEnded;
  }

  /** Frames already spelled as SSE (an upstream's, relayed). */
  relay(frames: string): void {
    if (!this.closed) this.#res.write(frames);
  }

  /** Ends a stream that has no [DONE] terminator (the Responses API's events). */
  end(): void {
    if (!this.closed) this.#res.end();
  }

  done(): void {
    if (!this.closed) this.#res.end(DONE);
  }

  /** A stream that broke after it started ends with an explicit error frame, never a clean end. */
  fail(errorBody: unknown): void {
    if (this.closed) return;
    this.#res.end(sseFrame(JSON.stringify(errorBody)));
  }
}
