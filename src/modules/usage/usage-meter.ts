import type { Logger } from '../../shared/logger.ts';
import type { Tracing } from '../../observability/tracing.ts';
import { normaliseUsageEvent, type UsageEvent } from './usage-event.ts';
import { SpoolFullError, UsageSpool, type SpoolSegment } from './usage-spool.ts';
import type { DeadLetterSink } from './usage-dead-letters.ts';
import { UsageStoreWriteError, type UsageStore } from './usage-store.ts';
import { UsageBatchQueue, type Part } from './usage-batch-queue.ts';
import { UsageBatchWriter } from './usage-batch-writer.ts';

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

// Inserts in flight at once: one being written by the store while the next is prepared and sent.
const SENDERS = 2;

/**
 * Takes every usage event off the request path: record() only queues. A group commit every
 * flushIntervalMs writes pending events to the spool, then the sender (see #pump) inserts spooled batches
 * into the store, oldest first, retrying with backoff while the store is down. A batch whose insert outcome
 * is unknown is resent with maybeStored, and the store skips the ids it already holds.
 */
export class UsageMeter {
  readonly #options: Required<Omit<UsageMeterOptions, 'tracing'>>;
  readonly #tracing: Tracing | undefined;
  readonly #spool: UsageSpool;
  readonly #queue: UsageBatchQueue;
  readonly #writer: UsageBatchWriter;
  readonly #listeners = new Set<UsageListener>();
  #timer: NodeJS.Timeout | undefined;
  #commitChain: Promise<void> = Promise.resolve();
  #commitScheduled = false;
  #claiming = false;
  #inFlight = 0;
  #retryParts: Part[][] = [];
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelay = 0;
  #holdTimer: NodeJS.Timeout | undefined;
  #lastInsertAt = 0;
  #closed = false;
  #problemsLogged = 0;
  // While the spool cannot write, batches live in memory only, so memory is what bounds them.
  #spoolFailing = false;
  #spoolFull = false;
  readonly #stats = { recorded: 0, stored: 0, duplicatesSkipped: 0, dropped: 0, consecutiveFailures: 0, lastFlushAt: null as Date | null, lastError: null as string | null };

  private constructor(options: UsageMeterOptions, spool: UsageSpool) {
    this.#options = { retryMinMs: 200, retryMaxMs: 30_000, spoolMaxBytes: Number.POSITIVE_INFINITY, insertIntervalMs: 0, ...options };
    this.#tracing = options.tracing;
    this.#spool = spool;
    this.#queue = new UsageBatchQueue(spool, options.logger);
    const { store, deadLetters, logger, insertTimeoutMs } = options;
    this.#writer = new UsageBatchWriter({ store, deadLetters, logger, insertTimeoutMs, writerId: spool.writerId });
  }

  /** Opens the spool, queues whatever an earlier run left in it, and starts the group-commit timer. */
  static async open(options: UsageMeterOptions): Promise<UsageMeter> {
    const spool = new UsageSpool(options.spoolDir, options.spoolMaxBytes);
    const leftover = await spool.open();
    const meter = new UsageMeter(options, spool);
    meter.#queue.replay(leftover);
    if (leftover.length > 0) options.logger.info({ segments: leftover.length, spool: options.spoolDir }, 'usage: replaying spooled batches');
    meter.#timer = setInterval(() => meter.#scheduleCommit(), options.flushIntervalMs);
    meter.#timer.unref();
    meter.#pump();
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
      } else if (this.#queue.memoryEvents >= this.#options.maxQueued * (this.#spoolFailing ? 1 : HEALTHY_SPOOL_SLACK)) {
        this.#stats.dropped += 1;
        if (this.#stats.dropped === 1 || this.#stats.dropped % 1000 === 0) {
          this.#options.logger.error({ dropped: this.#stats.dropped, spoolFailing: this.#spoolFailing }, 'usage: memory full and the spool cannot take more, events dropped');
        }
        return;
      } else {
        this.#queue.addPending(normalised);
        if (this.#queue.pendingCount >= this.#options.batchSize) this.#scheduleCommit();
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
    await this.#commit();
    const done = this.#queue.waitFor(this.#queue.lastSeq);
    if (done === undefined) return;
    this.#retryNow();
    // A waiter ends any hold for a fuller batch.
    this.#pump();
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
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    await this.#commit();
  }

  stats(): UsageMeterStats {
    return {
      queued: this.#queue.memoryEvents,
      pending: this.#queue.pendingCount,
      spooled: this.#queue.spooledEvents,
      segments: this.#queue.segmentCount,
      recorded: this.#stats.recorded,
      stored: this.#stats.stored,
      duplicatesSkipped: this.#stats.duplicatesSkipped,
      dropped: this.#stats.dropped,
      deadLettered: this.#writer.deadLettered,
      consecutiveFailures: this.#stats.consecutiveFailures,
      lastFlushAt: this.#stats.lastFlushAt,
      lastError: this.#stats.lastError,
    };
  }

  #scheduleCommit(): void {
    if (this.#commitScheduled) return;
    this.#commitScheduled = true;
    setImmediate(() => {
      this.#commitScheduled = false;
      this.#commit().catch(() => {});
    });
  }

  /** One group commit: every pending event goes into one spool segment (one fsync), then the sender runs. */
  #commit(): Promise<void> {
    this.#commitChain = this.#commitChain.then(async () => {
      if (this.#queue.pendingCount === 0) return;
      const events = this.#queue.takePending();
      let segment: SpoolSegment | null;
      try {
        segment = await this.#spool.write(events);
        this.#spoolFailing = false;
        this.#spoolFull = false;
      } catch (error) {
        this.#spoolFailing = true;
        const full = error instanceof SpoolFullError;
        // A full spool says so once per outage, not once per batch.
        if (!full || !this.#spoolFull) {
          this.#options.logger.error(
            { err: error, spool: this.#options.spoolDir },
            full ? 'usage: the spool is full; batches are kept in memory only until the store takes some' : 'usage: cannot write the spool; the batch is kept in memory only',
          );
        }
        this.#spoolFull = full;
        segment = null;
      }
      this.#queue.commit(events, segment);
      this.#queue.evict(this.#options.maxQueued);
      this.#pump();
    });
    return this.#commitChain;
  }

  #retryNow(): void {
    if (this.#retryTimer === undefined) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#pump();
  }

  /**
   * The sender: up to SENDERS inserts in flight, so this process prepares the next batch while the store
   * writes the last. Each batch is up to batchSize events from the oldest unsent ones: the rest of a
   * large segment, or several small segments together. A failed batch is retried as it was, first.
   */
  #pump(): void {
    if (this.#claiming || this.#closed) return;
    this.#claiming = true;
    this.#dispatch()
      .catch((error: unknown) => this.#options.logger.error({ err: error }, 'usage: sender failed unexpectedly'))
      .finally(() => {
        this.#claiming = false;
      });
  }

  async #dispatch(): Promise<void> {
    while (!this.#closed && this.#retryTimer === undefined && this.#inFlight < SENDERS) {
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
        this.#pump();
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
      this.#pump();
    }, wait);
    this.#holdTimer.unref();
    return true;
  }

  async #send(parts: Part[]): Promise<void> {
    // A segment evicted since it was claimed (memory bound) is read back from the spool.
    for (const part of parts) if (part.segment.events === null) await this.#queue.load(part.segment);
    const events = parts.flatMap((p) => (p.segment.events ?? []).slice(p.start, p.end));
    const maybeStored = parts.some((p) => p.segment.maybeStored);
    const span = this.#tracing?.startSpan('usage store insert', { attributes: { 'tollgate.usage.events': events.length, 'tollgate.usage.maybe_stored': maybeStored } });
    try {
      const result = await this.#writer.write(events, maybeStored);
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
      if (this.#retryTimer !== undefined) return;
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
        this.#pump();
      }, delay);
      this.#retryTimer.unref();
    }
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
