import type { Logger } from '../../shared/logger.ts';
import type { Tracing } from '../../observability/tracing.ts';
import { normaliseUsageEvent, type UsageEvent } from './usage-event.ts';
import { SpoolFullError, UsageSpool, type SpoolSegment } from './usage-spool.ts';
import type { DeadLetterSink } from './usage-dead-letters.ts';
import { UsageStoreWriteError, type InsertResult, type UsageStore } from './usage-store.ts';

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

interface QueuedSegment extends SpoolSegment {
  /** null when evicted to keep memory bounded (or a replayed file not read yet). */
  events: UsageEvent[] | null;
  count: number | null;
  /** Events handed to an insert so far (from the start); the rest wait for the sender. */
  claimed: number;
  /** Events the store has acknowledged; the segment is removed once all are. */
  acked: number;
  /** An earlier attempt may have stored part of it: the store checks ids before writing. */
  maybeStored: boolean;
  /** false when the spool could not write it: then it exists in memory only. */
  durable: boolean;
}

/** A slice [start, end) of a segment's events, part of one insert. */
interface Part {
  segment: QueuedSegment;
  start: number;
  end: number;
}

// Inserts in flight at once: one being written by the store while the next is prepared and sent.
const SENDERS = 2;

interface FlushWaiter {
  seq: number;
  resolve(): void;
}

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
  readonly #listeners = new Set<UsageListener>();
  #pending: UsageEvent[] = [];
  #queue: QueuedSegment[] = [];
  #memoryEvents = 0;
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
  #waiters: FlushWaiter[] = [];
  #lastSeq = 0;
  #problemsLogged = 0;
  // While the spool cannot write, batches live in memory only, so memory is what bounds them.
  #spoolFailing = false;
  #spoolFull = false;
  readonly #stats = { recorded: 0, stored: 0, duplicatesSkipped: 0, dropped: 0, deadLettered: 0, consecutiveFailures: 0, lastFlushAt: null as Date | null, lastError: null as string | null };

  private constructor(options: UsageMeterOptions, spool: UsageSpool) {
    this.#options = { retryMinMs: 200, retryMaxMs: 30_000, spoolMaxBytes: Number.POSITIVE_INFINITY, insertIntervalMs: 0, ...options };
    this.#tracing = options.tracing;
    this.#spool = spool;
  }

  /** Opens the spool, queues whatever an earlier run left in it, and starts the group-commit timer. */
  static async open(options: UsageMeterOptions): Promise<UsageMeter> {
    const spool = new UsageSpool(options.spoolDir, options.spoolMaxBytes);
    const leftover = await spool.open();
    const meter = new UsageMeter(options, spool);
    for (const segment of leftover) {
      meter.#queue.push({ ...segment, events: null, count: null, claimed: 0, acked: 0, maybeStored: true, durable: true });
      meter.#lastSeq = segment.seq;
    }
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
      } else if (this.#memoryEvents >= this.#options.maxQueued * (this.#spoolFailing ? 1 : HEALTHY_SPOOL_SLACK)) {
        this.#stats.dropped += 1;
        if (this.#stats.dropped === 1 || this.#stats.dropped % 1000 === 0) {
          this.#options.logger.error({ dropped: this.#stats.dropped, spoolFailing: this.#spoolFailing }, 'usage: memory full and the spool cannot take more, events dropped');
        }
        return;
      } else {
        this.#pending.push(normalised);
        this.#memoryEvents += 1;
        if (this.#pending.length >= this.#options.batchSize) this.#scheduleCommit();
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
    const seq = this.#lastSeq;
    if (this.#queue.length === 0 || this.#queue[0]!.seq > seq) return;
    const done = new Promise<void>((resolve) => this.#waiters.push({ seq, resolve }));
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
      queued: this.#memoryEvents,
      pending: this.#pending.length,
      spooled: this.#queue.filter((s) => s.durable).reduce((sum, s) => sum + (s.count ?? 0) - s.acked, 0),
      segments: this.#queue.length,
      recorded: this.#stats.recorded,
      stored: this.#stats.stored,
      duplicatesSkipped: this.#stats.duplicatesSkipped,
      dropped: this.#stats.dropped,
      deadLettered: this.#stats.deadLettered,
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
      if (this.#pending.length === 0) return;
      const events = this.#pending;
      this.#pending = [];
      let segment: QueuedSegment;
      try {
        segment = { ...(await this.#spool.write(events)), events, count: events.length, claimed: 0, acked: 0, maybeStored: false, durable: true };
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
        segment = { seq: 0, path: '', bytes: 0, events, count: events.length, claimed: 0, acked: 0, maybeStored: false, durable: false };
      }
      this.#lastSeq += 1;
      segment.seq = this.#lastSeq;
      this.#queue.push(segment);
      this.#evict();
      this.#pump();
    });
    return this.#commitChain;
  }

  /** Keeps memory bounded: the newest durable segments drop their events and are read back when their turn comes. */
  #evict(): void {
    for (let i = this.#queue.length - 1; i > 0 && this.#memoryEvents > this.#options.maxQueued; i -= 1) {
      const segment = this.#queue[i]!;
      if (!segment.durable || segment.events === null) continue;
      this.#memoryEvents -= segment.events.length;
      segment.events = null;
    }
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
        parts = await this.#claim();
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
    if (wait <= 0 || this.#waiters.length > 0) return false;
    let unsent = 0;
    for (const segment of this.#queue) {
      if (segment.count === null) return false;
      unsent += segment.count - segment.claimed;
    }
    if (unsent === 0) return true;
    if (unsent >= this.#options.batchSize) return false;
    this.#holdTimer ??= setTimeout(() => {
      this.#holdTimer = undefined;
      this.#pump();
    }, wait);
    this.#holdTimer.unref();
    return true;
  }

  async #claim(): Promise<Part[] | undefined> {
    const parts: Part[] = [];
    let size = 0;
    for (const segment of [...this.#queue]) {
      if (segment.events === null) await this.#load(segment);
      const length = segment.events?.length ?? 0;
      if (length === 0) {
        // Nothing readable in it (a segment torn whole by a crash): nothing to send.
        await this.#done(segment);
        continue;
      }
      if (segment.claimed >= length) continue;
      const end = Math.min(length, segment.claimed + this.#options.batchSize - size);
      parts.push({ segment, start: segment.claimed, end });
      size += end - segment.claimed;
      segment.claimed = end;
      if (size >= this.#options.batchSize) break;
    }
    return parts.length > 0 ? parts : undefined;
  }

  async #send(parts: Part[]): Promise<void> {
    // A segment evicted since it was claimed (memory bound) is read back from the spool.
    for (const part of parts) if (part.segment.events === null) await this.#load(part.segment);
    const events = parts.flatMap((p) => (p.segment.events ?? []).slice(p.start, p.end));
    const maybeStored = parts.some((p) => p.segment.maybeStored);
    const span = this.#tracing?.startSpan('usage store insert', { attributes: { 'tollgate.usage.events': events.length, 'tollgate.usage.maybe_stored': maybeStored } });
    try {
      const result = await this.#insertOrSetAside(events, maybeStored);
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
      for (const part of parts) {
        const segment = part.segment;
        segment.acked += part.end - part.start;
        if (segment.acked >= (segment.count ?? Number.POSITIVE_INFINITY)) await this.#done(segment);
      }
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
          { err: error, failures: this.#stats.consecutiveFailures, retryInMs: delay, segments: this.#queue.length },
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

  /** The store holds all of a segment: its file goes, and flushes waiting for it may return. */
  async #done(segment: QueuedSegment): Promise<void> {
    const index = this.#queue.indexOf(segment);
    if (index === -1) return;
    this.#queue.splice(index, 1);
    this.#memoryEvents -= segment.events?.length ?? 0;
    if (segment.durable) await this.#spool.remove(segment);
    const oldest = this.#queue[0]?.seq ?? Number.POSITIVE_INFINITY;
    this.#waiters = this.#waiters.filter((waiter) => {
      if (waiter.seq >= oldest) return true;
      waiter.resolve();
      return false;
    });
  }

  async #load(segment: QueuedSegment): Promise<void> {
    try {
      const { events, torn } = await this.#spool.read(segment);
      if (torn > 0) this.#options.logger.warn({ segment: segment.path, torn }, 'usage: skipped lines torn by a crash mid-write');
      segment.events = events;
      segment.count = events.length;
      this.#memoryEvents += events.length;
    } catch (error) {
      this.#options.logger.error({ err: error, segment: segment.path }, 'usage: cannot read a spool segment; it is skipped');
      segment.events = [];
      segment.count = 0;
    }
  }

  /** Inserts a batch; one the store refuses is split until the events it refuses are found and set aside. */
  async #insertOrSetAside(events: UsageEvent[], maybeStored: boolean): Promise<InsertResult> {
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
        const first = await this.#insertOrSetAside(events.slice(0, middle), maybeStored || error.maybeStored);
        const second = await this.#insertOrSetAside(events.slice(middle), maybeStored || error.maybeStored);
        return { inserted: first.inserted + second.inserted, skipped: first.skipped + second.skipped };
      } catch (splitError) {
        // An outage met while splitting: the whole batch is retried, and part of it may be stored by now.
        throw new UsageStoreWriteError((splitError as Error).message, true, { cause: splitError });
      }
    }
  }

  async #setAside(event: UsageEvent, error: UsageStoreWriteError): Promise<void> {
    await this.#options.deadLetters.add([{ event, error: error.message }], this.#options.store.kind);
    this.#stats.deadLettered += 1;
    this.#options.logger.error(
      { eventId: event.eventId, requestId: event.requestId, store: this.#options.store.kind, err: error },
      'usage: the store refused an event; it is kept as a dead letter (tollgate usage dead-letters list)',
    );
  }

  async #insertWithTimeout(events: UsageEvent[], maybeStored: boolean) {
    // Stores bound their own requests; this is the backstop for a connection that hangs without failing.
    let timer: NodeJS.Timeout | undefined;
    const attempt = this.#options.store.insert(events, { writerId: this.#spool.writerId, maybeStored });
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

  #recordAfterClose(event: UsageEvent): void {
    try {
      this.#spool.writeSync([event]);
    } catch (error) {
      this.#stats.dropped += 1;
      this.#options.logger.error({ err: error }, 'usage: event recorded after shutdown could not be spooled');
    }
  }
}
