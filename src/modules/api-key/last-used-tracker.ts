import type { SqlDatabase } from '../../storage/sql-database.ts';
import type { Logger } from '../../shared/logger.ts';
import { recordApiKeysLastUsed } from './api-key.repository.ts';

export interface LastUsedTrackerOptions {
  db: SqlDatabase;
  logger: Logger;
  flushIntervalMs?: number;
}

const batchSize = 1_000;

/**
 * Remembers when each API key was last used and writes them all in one UPDATE every few seconds,
 * so the request path never writes to the database.
 */
export class LastUsedTracker {
  readonly #db: SqlDatabase;
  readonly #logger: Logger;
  readonly #flushIntervalMs: number;
  #pending = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(options: LastUsedTrackerOptions) {
    this.#db = options.db;
    this.#logger = options.logger;
    this.#flushIntervalMs = options.flushIntervalMs ?? 5_000;
  }

  touch(keyId: string, atMs: number): void {
    this.#pending.set(keyId, atMs);
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.flush(), this.#flushIntervalMs);
    this.#timer.unref();
  }

  /** Writes what is pending; on failure keeps it for the next attempt. Flushes never overlap. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#write());
    return this.#flushing;
  }

  /** Stops the timer and writes what is left (on shutdown, before the database closes). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  async #write(): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    const entries = [...batch];
    try {
      for (let i = 0; i < entries.length; i += batchSize) {
        const chunk = entries.slice(i, i + batchSize).map(([id, at]) => [id, new Date(at)] as const);
        await recordApiKeysLastUsed(this.#db, new Map(chunk));
      }
    } catch (error) {
      this.#logger.warn({ err: error, keys: batch.size }, 'could not record API keys last use; will retry');
      for (const [id, at] of batch) {
        if ((this.#pending.get(id) ?? 0) < at) this.#pending.set(id, at);
      }
    }
  }
}
