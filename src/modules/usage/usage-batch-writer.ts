import type { Logger } from '../../shared/logger.ts';
import type { UsageEvent } from './usage-event.ts';
import type { DeadLetterSink } from './usage-dead-letters.ts';
import { UsageStoreWriteError, type InsertResult, type UsageStore } from './usage-store.ts';

export interface UsageBatchWriterOptions {
  store: UsageStore;
  deadLetters: DeadLetterSink;
  logger: Logger;
  /** Bound on one insert, after which its outcome is treated as unknown. */
  insertTimeoutMs: number;
  /** The spool's stable id, so the store can recognise this writer's earlier, still-running writes. */
  writerId: string;
}

/**
 * Writes one batch to the store. A batch the store refuses (not an outage: a value it cannot hold) is
 * split until the events it refuses are found and set aside as dead letters, so the rest keep flowing.
 */
export class UsageBatchWriter {
  readonly #options: UsageBatchWriterOptions;
  #deadLettered = 0;

  constructor(options: UsageBatchWriterOptions) {
    this.#options = options;
  }

  /** Events the store refused and that were set aside. */
  get deadLettered(): number {
    return this.#deadLettered;
  }

  async write(events: UsageEvent[], maybeStored: boolean): Promise<InsertResult> {
    try {
      return await this.#insertWithTimeout(events, maybeStored);
    } catch (error) {
      if (!(error instanceof UsageStoreWriteError && error.rejected)) throw error;
      if (events.length === 1) {
        await this.#setAside(events[0]!, error);
        return { inserted: 0, skipped: 0 };
      }
      const middle = Math.ceil(events.length / 2);
      try {
        const first = await this.write(events.slice(0, middle), maybeStored || error.maybeStored);
        const second = await this.write(events.slice(middle), maybeStored || error.maybeStored);
        return { inserted: first.inserted + second.inserted, skipped: first.skipped + second.skipped };
      } catch (splitError) {
        // An outage met while splitting: the whole batch is retried, and part of it may be stored by now.
        throw new UsageStoreWriteError((splitError as Error).message, true, { cause: splitError });
      }
    }
  }

  async #setAside(event: UsageEvent, error: UsageStoreWriteError): Promise<void> {
    await this.#options.deadLetters.add([{ event, error: error.message }], this.#options.store.kind);
    this.#deadLettered += 1;
    this.#options.logger.error(
      { eventId: event.eventId, requestId: event.requestId, store: this.#options.store.kind, err: error },
      'usage: the store refused an event; it is kept as a dead letter (tollgate usage dead-letters list)',
    );
  }

  async #insertWithTimeout(events: UsageEvent[], maybeStored: boolean): Promise<InsertResult> {
    // Stores bound their own requests; this is the backstop for a connection that hangs without failing.
    let timer: NodeJS.Timeout | undefined;
    const attempt = this.#options.store.insert(events, { writerId: this.#options.writerId, maybeStored });
    attempt.catch(() => {});
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new UsageStoreWriteError(`usage insert gave no answer within ${this.#options.insertTimeoutMs * 2} ms`, true)),
        this.#options.insertTimeoutMs * 2,
      );
    });
    try {
      return await Promise.race([attempt, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
