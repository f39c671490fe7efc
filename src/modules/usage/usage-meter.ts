import type { Logger } from '../../shared/logger.ts';
import type { Tracing } from '../../observability/tracing.ts';
import { normaliseUsageEvent, type UsageEvent } from './usage-event.ts';
import { UsageSpool } from './usage-spool.ts';
import type { DeadLetterSink } from './usage-dead-letters.ts';
import type { UsageStore } from './usage-store.ts';
import { UsageBatchQueue } from './usage-batch-queue.ts';
import { UsageBatchWriter } from './usage-batch-writer.ts';
import { UsageGroupCommit } from './usage-group-commit.ts';
import { UsageSender } from './usage-sender.ts';

export interface UsageMeterOptions {
  store: UsageStore;
  /** Where events the store refuses (not an outage: a value it cannot hold) are set aside. */
  deadLetters: DeadLetterSink;
  /** Directory of the local spool, e.g. `<dataDir>/spool/usage`. */
  spoolDir: string;
  /** Disk the spool may take while the store is away; past it, batches wait in memory only (maxQueued). */
  spoolMaxBytes?: number;
  logger: Logger;
  /** Group commit: pending events are spooled (and fsynced) and handed to the store this often. */
  flushIntervalMs: number;
  /** Events per insert; this many pending events are committed at once rather than at the next tick. */
  batchSize: number;
  /**
   * Least time between two inserts while fewer than batchSize events wait: a store such as ClickHouse
   * writes a part per insert, so a few large inserts cost it far less than many small ones. 0: at once.
   */
  insertIntervalMs?: number;
  /** Events held in memory at most; beyond it spooled batches wait on disk only. */
  maxQueued: number;
  /** Bound on one insert, after which its outcome is treated as unknown. */
  insertTimeoutMs: number;
  /** How long close() tries to empty the spool into the store before leaving the rest for the next start. */
  closeTimeoutMs: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Set only when tracing is on: a span per store insert. */
  tracing?: Tracing | undefined;
}

export interface UsageMeterStats {
  /** Events held in memory and not yet stored (pending plus spooled batches still in memory). */
  queued: number;
  /** Recorded events waiting for the next group commit (not durable yet). */
  pending: number;
  /** Events in spool files that the store does not hold yet (counted once a replayed file has been read). */
  spooled: number;
  /** Spool files waiting for the store, including replayed ones not read yet. */
  segments: number;
  recorded: number;
  stored: number;
  /** Events a resend found already stored, so not written twice. */
  duplicatesSkipped: number;
  /** Events lost because neither the spool nor memory could take them. */
  dropped: number;
  /** Events the store refused, set aside as dead letters so the rest keep flowing. */
  deadLettered: number;
  /** Inserts that failed since the last success (0 when the store is healthy). */
  consecutiveFailures: number;
  lastFlushAt: Date | null;
  lastError: string | null;
}

export type UsageListener = (event: UsageEvent) => void;

// With a working spool, pending events only wait for the next commit, so the bound is soft: events are
// dropped only when memory passes it this many times over (a spool far slower than the traffic).
const HEALTHY_SPOOL_SLACK = 10;

/**
 * Takes every usage event off the request path: record() only queues. A group commit every
 * flushIntervalMs writes pending events to the spool, then UsageSender inserts spooled batches into the
 * store, oldest first, retrying with backoff while the store is down. A batch whose insert outcome is
 * unknown is resent with maybeStored, and the store skips the ids it already holds.
 */
export class UsageMeter {
  readonly #options: Required<Omit<UsageMeterOptions, 'tracing'>>;
  readonly #spool: UsageSpool;
  readonly #queue: UsageBatchQueue;
  readonly #writer: UsageBatchWriter;
  readonly #sender: UsageSender;
  readonly #groupCommit: UsageGroupCommit;
  readonly #listeners = new Set<UsageListener>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #problemsLogged = 0;
  readonly #stats = { recorded: 0, dropped: 0 };

  private constructor(options: UsageMeterOptions, spool: UsageSpool) {
    this.#options = { retryMinMs: 200, retryMaxMs: 30_000, spoolMaxBytes: Number.POSITIVE_INFINITY, insertIntervalMs: 0, ...options };
    this.#spool = spool;
    this.#queue = new UsageBatchQueue(spool, options.logger);
    const { store, deadLetters, logger, insertTimeoutMs, batchSize, insertIntervalMs, retryMinMs, retryMaxMs, maxQueued } = this.#options;
    this.#writer = new UsageBatchWriter({ store, deadLetters, logger, insertTimeoutMs, writerId: spool.writerId });
    this.#sender = new UsageSender({ queue: this.#queue, writer: this.#writer, logger, batchSize, insertIntervalMs, retryMinMs, retryMaxMs, tracing: options.tracing });
    this.#groupCommit = new UsageGroupCommit({ spool, queue: this.#queue, logger, maxQueued, onCommitted: () => this.#sender.pump() });
  }

  /** Opens the spool, queues whatever an earlier run left in it, and starts the group-commit timer. */
  static async open(options: UsageMeterOptions): Promise<UsageMeter> {
    const spool = new UsageSpool(options.spoolDir, options.spoolMaxBytes);
    const leftover = await spool.open();
    const meter = new UsageMeter(options, spool);
    meter.#queue.replay(leftover);
    if (leftover.length > 0) options.logger.info({ segments: leftover.length, spool: options.spoolDir }, 'usage: replaying spooled batches');
    meter.#timer = setInterval(() => meter.#groupCommit.schedule(), options.flushIntervalMs);
    meter.#timer.unref();
    meter.#sender.pump();
    return meter;
  }

  /** Queues one event. Never blocks and never throws, whatever it is handed. */
  record(event: UsageEvent): void {
    try {
      const { event: normalised, problems } = normaliseUsageEvent(event);
      if (problems.length > 0 && this.#problemsLogged < 100) {
        this.#problemsLogged += 1;
        this.#options.logger.warn({ eventId: normalised.eventId, fields: problems }, 'usage: event had invalid fields, stored normalised');
      }
      this.#stats.recorded += 1;
      if (this.#closed) {
        this.#recordAfterClose(normalised);
      } else if (this.#queue.memoryEvents >= this.#options.maxQueued * (this.#groupCommit.spoolFailing ? 1 : HEALTHY_SPOOL_SLACK)) {
        this.#stats.dropped += 1;
        if (this.#stats.dropped === 1 || this.#stats.dropped % 1000 === 0) {
          this.#options.logger.error({ dropped: this.#stats.dropped, spoolFailing: this.#groupCommit.spoolFailing }, 'usage: memory full and the spool cannot take more, events dropped');
        }
        return;
      } else {
        this.#queue.addPending(normalised);
        if (this.#queue.pendingCount >= this.#options.batchSize) this.#groupCommit.schedule();
      }
      for (const listener of this.#listeners) {
        try {
          listener(normalised);
        } catch (error) {
          this.#options.logger.error({ err: error }, 'usage: a recorded-event listener threw');
        }
      }
    } catch (error) {
      this.#stats.dropped += 1;
      this.#options.logger.error({ err: error }, 'usage: could not record an event');
    }
  }

  /** Calls listener with each event as it is recorded (quota counters, pub/sub). Returns an unsubscribe. */
  onRecorded(listener: UsageListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolves once every event recorded before the call is in the store. Skips any retry wait;
   * with timeoutMs, rejects if the store has not taken them by then (they stay spooled).
   */
  async flush(options: { timeoutMs?: number } = {}): Promise<void> {
    await this.#groupCommit.run();
    const done = this.#queue.waitFor(this.#queue.lastSeq);
    if (done === undefined) return;
    this.#sender.retryNow();
    // A waiter ends any hold for a fuller batch.
    this.#sender.pump();
    if (options.timeoutMs === undefined) return done;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`usage: the store did not take the spooled events within ${options.timeoutMs} ms`)), options.timeoutMs);
    });
    try {
      await Promise.race([done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stops the timer, spools what is pending (durable from here), then gives the store up to
   * closeTimeoutMs to take it all; what it did not take is replayed at the next start.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    clearInterval(this.#timer);
    try {
      await this.flush({ timeoutMs: this.#options.closeTimeoutMs });
    } catch {
      const stats = this.stats();
      this.#options.logger.warn(
        { segments: stats.segments, spooled: stats.spooled, spool: this.#options.spoolDir },
        'usage: store did not take every batch before shutdown; they stay spooled and are sent at the next start',
      );
    }
    // From here on record() spools synchronously; anything still pending is committed to the spool.
    this.#closed = true;
    this.#sender.stop();
    await this.#groupCommit.run();
  }

  stats(): UsageMeterStats {
    const sent = this.#sender.stats();
    return {
      queued: this.#queue.memoryEvents,
      pending: this.#queue.pendingCount,
      spooled: this.#queue.spooledEvents,
      segments: this.#queue.segmentCount,
      recorded: this.#stats.recorded,
      stored: sent.stored,
      duplicatesSkipped: sent.duplicatesSkipped,
      dropped: this.#stats.dropped,
      deadLettered: this.#writer.deadLettered,
      consecutiveFailures: sent.consecutiveFailures,
      lastFlushAt: sent.lastFlushAt,
      lastError: sent.lastError,
    };
  }

  #recordAfterClose(event: UsageEvent): void {
    try {
      this.#spool.writeSync([event]);
    } catch (error) {
      this.#stats.dropped += 1;
      this.#options.logger.error({ err: error }, 'usage: event recorded after shutdown could not be spooled');
    }
  }
}
