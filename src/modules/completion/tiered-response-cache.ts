import type { CachedCompletion, ResponseCache } from './response-cache.ts';

/**
 * Levels asked in order, nearest first (in-process, Redis, the SQL database). A hit further down is
 * copied into the levels above it, so the next repeat on this instance is answered in memory; an
 * answer is written to every level.
 */
export class TieredResponseCache implements ResponseCache {
  readonly #levels: readonly ResponseCache[];

  constructor(levels: readonly ResponseCache[]) {
    this.#levels = levels;
  }

  async get(key: string): Promise<CachedCompletion | undefined> {
    for (let i = 0; i < this.#levels.length; i += 1) {
      const found = await this.#levels[i]!.get(key);
      if (found) {
        // Not awaited: the caller has its answer; the levels report their own failures.
        void Promise.all(this.#levels.slice(0, i).map((level) => level.set(key, found)));
        return found;
      }
    }
    return undefined;
  }

  async set(key: string, value: CachedCompletion): Promise<void> {
    await Promise.all(this.#levels.map((level) => level.set(key, value)));
  }
}
