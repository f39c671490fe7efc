import type { Logger } from '../../shared/logger.ts';
import type { Tracing } from '../../observability/tracing.ts';
import type { Part, UsageBatchQueue } from './usage-batch-queue.ts';
import type { UsageBatchWriter } from './usage-batch-writer.ts';
import { UsageStoreWriteError } from './usage-store.ts';

export interface UsageSenderOptions {
  queue: UsageBatchQueue;
  writer: UsageBatchWriter;
  logger: Logger;
  /** Events per insert. */
  batchSize: number;
  /** Least time between two inserts while fewer than batchSize events wait. 0: at once. */
  insertIntervalMs: number;
  retryMinMs: number;
  retryMaxMs: number;
  tracing: Tracing | undefined;
}

export interface UsageSenderStats {
  stored: number;
  duplicatesSkipped: number;
  consecutiveFailures: number;
  lastFlushAt: Date | null;
  lastError: string | null;
}

// Inserts in flight at once: one being written by the store while the next is prepared and sent.
const SENDERS = 2;

/**
 * Sends committed batches to the store, oldest first: up to SENDERS inserts in flight, so this process
 * prepares the next batch while the store writes the last. Each batch is up to batchSize events from the
 * oldest unsent ones: the rest of a large segment, or several small segments together. A failed batch is
 * retried as it was, first, with backoff while the store is down; one whose outcome is unknown is resent
 * with maybeStored, and the store skips the ids it already holds.
 */
export class UsageSender {
  readonly #options: UsageSenderOptions;
  readonly #queue: UsageBatchQueue;
  #claiming = false;
  #inFlight = 0;
  #retryParts: Part[][] = [];
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelay = 0;
  #holdTimer: NodeJS.Timeout | undefined;
  #lastInsertAt = 0;
  #stopped = false;
  readonly #stats: UsageSenderStats = { stored: 0, duplicatesSkipped: 0, consecutiveFailures: 0, lastFlushAt: null, lastError: null };

  constructor(options: UsageSenderOptions) {
    this.#options = options;
    this.#queue = options.queue;
  }

  stats(): UsageSenderStats {
    return { ...this.#stats };
  }

  /** Sends what the queue holds, as far as the senders in flight and any retry wait allow. */
  pump(): void {
    if (this.#claiming || this.#stopped) return;
    this.#claiming = true;
    this.#dispatch()
      .catch((error: unknown) => this.#options.logger.error({ err: error }, 'usage: sender failed unexpectedly'))
      .finally(() => {
        this.#claiming = false;
      });
  }

  /** Skips the wait before the next retry, if one is scheduled. */
  retryNow(): void {
    if (this.#retryTimer === undefined) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.pump();
  }

  /** Sends nothing more; inserts already in flight finish. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
  }

  async #dispatch(): Promise<void> {
    while (!this.#stopped && this.#retryTimer === undefined && this.#inFlight < SENDERS) {
      let parts = this.#retryParts.shift();
      if (parts === undefined) {
        if (this.#holdForFullerBatch()) return;
        parts = await this.#queue.claim(this.#options.batchSize);
      }
      if (parts === undefined) return;
      this.#inFlight += 1;
      this.#lastInsertAt = Date.now();
      void this.#send(parts).finally(() => {
        this.#inFlight -= 1;
        this.pump();
      });
    }
  }

  /**
   * True when the sender should not claim a batch now: nothing is unsent, or a small batch waits for
   * insertIntervalMs since the last insert (a timer then pumps again). Never while a flush waits, once
   * batchSize events are ready, or for a replayed segment not read yet.
   */
  #holdForFullerBatch(): boolean {
    const wait = this.#lastInsertAt + this.#options.insertIntervalMs - Date.now();
    if (wait <= 0 || this.#queue.hasWaiters) return false;
    const unsent = this.#queue.unclaimed();
    if (unsent === null) return false;
    if (unsent === 0) return true;
    if (unsent >= this.#options.batchSize) return false;
    this.#holdTimer ??= setTimeout(() => {
      this.#holdTimer = undefined;
      this.pump();
    }, wait);
    this.#holdTimer.unref();
    return true;
  }

  async #send(parts: Part[]): Promise<void> {
    // A segment evicted since it was claimed (memory bound) is read back from the spool.
    for (const part of parts) if (part.segment.events === null) await this.#queue.load(part.segment);
    const events = parts.flatMap((p) => (p.segment.events ?? []).slice(p.start, p.end));
    const maybeStored = parts.some((p) => p.segment.maybeStored);
    const span = this.#options.tracing?.startSpan('usage store insert', {
      attributes: { 'tollgate.usage.events': events.length, 'tollgate.usage.maybe_stored': maybeStored },
    });
    try {
      const result = await this.#options.writer.write(events, maybeStored);
      span?.setAttributes({ 'tollgate.usage.inserted': result.inserted, 'tollgate.usage.skipped': result.skipped });
      span?.end();
      this.#stats.stored += result.inserted;
      this.#stats.duplicatesSkipped += result.skipped;
      if (this.#stats.consecutiveFailures > 0) {
        this.#options.logger.info({ failures: this.#stats.consecutiveFailures }, 'usage: store is taking events again');
      }
      this.#stats.consecutiveFailures = 0;
      this.#stats.lastError = null;
      this.#stats.lastFlushAt = new Date();
      this.#retryDelay = 0;
      await this.#queue.acknowledge(parts);
    } catch (error) {
      span?.fail(error);
      span?.end();
      const uncertain = !(error instanceof UsageStoreWriteError) || error.maybeStored;
      if (uncertain) for (const part of parts) part.segment.maybeStored = true;
      this.#retryParts.push(parts);
      this.#stats.consecutiveFailures += 1;
      this.#stats.lastError = (error as Error).message;
      if (this.#retryTimer === undefined) this.#scheduleRetry(error);
    }
  }

  /** Backs off exponentially, with jitter, up to retryMaxMs. */
  #scheduleRetry(error: unknown): void {
    this.#retryDelay = Math.min(this.#options.retryMaxMs, Math.max(this.#options.retryMinMs, this.#retryDelay * 2));
    const delay = Math.round(this.#retryDelay * (0.75 + Math.random() * 0.5));
    if (this.#stats.consecutiveFailures === 1 || this.#stats.consecutiveFailures % 20 === 0) {
      this.#options.logger.warn(
        { err: error, failures: this.#stats.consecutiveFailures, retryInMs: delay, segments: this.#queue.segmentCount },
        'usage: store unavailable, batches stay spooled',
      );
    }
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.pump();
    }, delay);
    this.#retryTimer.unref();
  }
}
