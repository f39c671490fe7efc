import type { Logger } from '../../shared/logger.ts';
import type { UsageEvent } from './usage-event.ts';
import type { SpoolSegment, UsageSpool } from './usage-spool.ts';

export interface QueuedSegment extends SpoolSegment {
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
export interface Part {
  segment: QueuedSegment;
  start: number;
  end: number;
}

interface FlushWaiter {
  seq: number;
  resolve(): void;
}

/**
 * The events the store does not hold yet, oldest first: those recorded since the last group commit, then
 * the committed batches (segments). Counts the events it holds in memory, evicts durable segments to
 * stay within the bound and reads them back when their turn comes, and removes a segment's file once
 * the store acknowledged all of it.
 */
export class UsageBatchQueue {
  readonly #spool: UsageSpool;
  readonly #logger: Logger;
  #pending: UsageEvent[] = [];
  #segments: QueuedSegment[] = [];
  #memoryEvents = 0;
  #lastSeq = 0;
  #waiters: FlushWaiter[] = [];
  /** Segments the store holds whose files are still being removed: flushes wait for them too. */
  readonly #removing = new Set<number>();

  constructor(spool: UsageSpool, logger: Logger) {
    this.#spool = spool;
    this.#logger = logger;
  }

  /** Events held in memory: pending ones plus committed segments not evicted. */
  get memoryEvents(): number {
    return this.#memoryEvents;
  }

  get pendingCount(): number {
    return this.#pending.length;
  }

  get segmentCount(): number {
    return this.#segments.length;
  }

  /** Sequence number of the newest committed segment. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Events in spool files that the store does not hold yet (counted once a replayed file has been read). */
  get spooledEvents(): number {
    return this.#segments.filter((s) => s.durable).reduce((sum, s) => sum + (s.count ?? 0) - s.acked, 0);
  }

  get hasWaiters(): boolean {
    return this.#waiters.length > 0;
  }

  /** Queues segments an earlier run left in the spool; they may be stored already. */
  replay(leftover: readonly SpoolSegment[]): void {
    for (const segment of leftover) {
      this.#segments.push({ ...segment, events: null, count: null, claimed: 0, acked: 0, maybeStored: true, durable: true });
      this.#lastSeq = segment.seq;
    }
  }

  addPending(event: UsageEvent): void {
    this.#pending.push(event);
    this.#memoryEvents += 1;
  }

  /** Hands over the pending events for a group commit; they stay counted in memory. */
  takePending(): UsageEvent[] {
    const events = this.#pending;
    this.#pending = [];
    return events;
  }

  /** Queues a committed batch: `segment` is where the spool wrote it, or null when it could not. */
  commit(events: UsageEvent[], segment: SpoolSegment | null): void {
    this.#lastSeq += 1;
    this.#segments.push({
      ...(segment ?? { path: '', bytes: 0 }),
      seq: this.#lastSeq,
      events,
      count: events.length,
      claimed: 0,
      acked: 0,
      maybeStored: false,
      durable: segment !== null,
    });
  }

  /** Keeps memory bounded: the newest durable segments drop their events and are read back when their turn comes. */
  evict(maxEvents: number): void {
    for (let i = this.#segments.length - 1; i > 0 && this.#memoryEvents > maxEvents; i -= 1) {
      const segment = this.#segments[i]!;
      if (!segment.durable || segment.events === null) continue;
      this.#memoryEvents -= segment.events.length;
      segment.events = null;
    }
  }

  /** Resolves once every segment up to seq is stored; undefined when none is waiting. */
  waitFor(seq: number): Promise<void> | undefined {
    if (this.#oldestSeq() > seq) return undefined;
    return new Promise<void>((resolve) => this.#waiters.push({ seq, resolve }));
  }

  /** Events committed and not claimed yet; null while a replayed segment has not been read. */
  unclaimed(): number | null {
    let unsent = 0;
    for (const segment of this.#segments) {
      if (segment.count === null) return null;
      unsent += segment.count - segment.claimed;
    }
    return unsent;
  }

  /** Claims up to batchSize of the oldest unsent events: the rest of a large segment, or several small ones. */
  async claim(batchSize: number): Promise<Part[] | undefined> {
    const parts: Part[] = [];
    let size = 0;
    for (const segment of [...this.#segments]) {
      if (segment.events === null) await this.load(segment);
      const length = segment.events?.length ?? 0;
      if (length === 0) {
        // Nothing readable in it (a segment torn whole by a crash): nothing to send.
        await this.#done(segment);
        continue;
      }
      if (segment.claimed >= length) continue;
      const end = Math.min(length, segment.claimed + batchSize - size);
      parts.push({ segment, start: segment.claimed, end });
      size += end - segment.claimed;
      segment.claimed = end;
      if (size >= batchSize) break;
    }
    return parts.length > 0 ? parts : undefined;
  }

  /** The store holds these parts: a segment it holds whole is removed. */
  async acknowledge(parts: readonly Part[]): Promise<void> {
    for (const part of parts) {
      const segment = part.segment;
      segment.acked += part.end - part.start;
      if (segment.acked >= (segment.count ?? Number.POSITIVE_INFINITY)) await this.#done(segment);
    }
  }

  async load(segment: QueuedSegment): Promise<void> {
    try {
      const { events, torn } = await this.#spool.read(segment);
      if (torn > 0) this.#logger.warn({ segment: segment.path, torn }, 'usage: skipped lines torn by a crash mid-write');
      segment.events = events;
      segment.count = events.length;
      this.#memoryEvents += events.length;
    } catch (error) {
      this.#logger.error({ err: error, segment: segment.path }, 'usage: cannot read a spool segment; it is skipped');
      segment.events = [];
      segment.count = 0;
    }
  }

  /** The store holds all of a segment: its file goes, and flushes waiting for it may return. */
  async #done(segment: QueuedSegment): Promise<void> {
    const index = this.#segments.indexOf(segment);
    if (index === -1) return;
    this.#segments.splice(index, 1);
    this.#memoryEvents -= segment.events?.length ?? 0;
    if (segment.durable) {
      this.#removing.add(segment.seq);
      try {
        await this.#spool.remove(segment);
      } finally {
        this.#removing.delete(segment.seq);
      }
    }
    const oldest = this.#oldestSeq();
    this.#waiters = this.#waiters.filter((waiter) => {
      if (waiter.seq >= oldest) return true;
      waiter.resolve();
      return false;
    });
  }

  /** The oldest segment not yet stored and removed; Infinity when there is none. */
  #oldestSeq(): number {
    return Math.min(this.#segments[0]?.seq ?? Number.POSITIVE_INFINITY, ...this.#removing);
  }
}
