import { Writable } from 'node:stream';
import { inferenceFileSchema, type InferenceConfigFile } from '../../src/config.ts';
import { createLogger, type Logger } from '../../src/shared/logger.ts';

// Shared set-up for router tests: configs with schema defaults, a logger that keeps its lines, a
// clock tests can move, and reproducible randomness.

export function inference(input: unknown): InferenceConfigFile {
  return inferenceFileSchema.parse(input);
}

export interface CapturedLogger {
  logger: Logger;
  lines: Record<string, unknown>[];
}

export function capturedLogger(): CapturedLogger {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('debug', sink), lines };
}

export class ManualClock {
  #t = 1_000_000;
  readonly now = (): number => this.#t;
  advance(ms: number): void {
    this.#t += ms;
  }
}

/** mulberry32: a tiny seeded PRNG, so distribution tests give the same counts on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Counts requests per upstream model name in a fake upstream's log. */
export function countByModel(requests: { body: unknown }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const request of requests) {
    const model = (request.body as { model?: unknown } | undefined)?.model;
    if (typeof model === 'string') counts[model] = (counts[model] ?? 0) + 1;
  }
  return counts;
}

export async function expectRejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}
