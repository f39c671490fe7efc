import type { Logger } from '../../shared/logger.ts';
import type { UsageBatchQueue } from './usage-batch-queue.ts';
import { SpoolFullError, type SpoolSegment, type UsageSpool } from './usage-spool.ts';

export interface UsageGroupCommitOptions {
  spool: UsageSpool;
  queue: UsageBatchQueue;
  logger: Logger;
  /** Events held in memory at most; past it, durable batches are evicted to disk. */
  maxQueued: number;
  /** Called after each commit, to hand the batch on to the sender. */
  onCommitted(): void;
}

/**
 * The group commit: every pending event goes into one spool segment (one fsync). Commits run one at a
 * time, in order. When the spool cannot write (full, or a disk error) the batch is kept in memory only.
 */
export class UsageGroupCommit {
  readonly #options: UsageGroupCommitOptions;
  #chain: Promise<void> = Promise.resolve();
  #scheduled = false;
  // While the spool cannot write, batches live in memory only, so memory is what bounds them.
  #spoolFailing = false;
  #spoolFull = false;

  constructor(options: UsageGroupCommitOptions) {
    this.#options = options;
  }

  /** True since the last commit the spool could not write. */
  get spoolFailing(): boolean {
    return this.#spoolFailing;
  }

  /** Commits soon, once per turn of the event loop however often it is asked. */
  schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.run().catch(() => {});
    });
  }

  /** Commits what is pending now; resolves once it (and every earlier commit) is done. */
  run(): Promise<void> {
    this.#chain = this.#chain.then(async () => {
      const { spool, queue, logger } = this.#options;
      if (queue.pendingCount === 0) return;
      const events = queue.takePending();
      let segment: SpoolSegment | null;
      try {
        segment = await spool.write(events);
        this.#spoolFailing = false;
        this.#spoolFull = false;
      } catch (error) {
        this.#spoolFailing = true;
        const full = error instanceof SpoolFullError;
        // A full spool says so once per outage, not once per batch.
        if (!full || !this.#spoolFull) {
          logger.error(
            { err: error, spool: spool.dir },
            full ? 'usage: the spool is full; batches are kept in memory only until the store takes some' : 'usage: cannot write the spool; the batch is kept in memory only',
          );
        }
        this.#spoolFull = full;
        segment = null;
      }
      queue.commit(events, segment);
      queue.evict(this.#options.maxQueued);
      this.#options.onCommitted();
    });
    return this.#chain;
  }
}
