import type { Logger } from '../shared/logger.ts';
import type { RoutingTable } from './routing-table.ts';

/**
 * Probes every provider of the current table, now and on an interval, and books the result on each
 * of its deployments (health() shows it, candidate ordering reads it).
 */
export class HealthProbes {
  readonly #table: () => RoutingTable;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;

  constructor(table: () => RoutingTable, logger: Logger) {
    this.#table = table;
    this.#logger = logger;
  }

  start(intervalMs: number, timeoutMs: number): void {
    this.stop();
    void this.probe(timeoutMs);
    this.#timer = setInterval(() => void this.probe(timeoutMs), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One probe round (a round still running is joined, not doubled). */
  probe(timeoutMs: number): Promise<void> {
    this.#round ??= this.#probeAll(timeoutMs).finally(() => {
      this.#round = undefined;
    });
    return this.#round;
  }

  /** Stops the interval and waits for a round in flight. */
  async close(): Promise<void> {
    this.stop();
    await this.#round;
  }

  async #probeAll(timeoutMs: number): Promise<void> {
    const table = this.#table();
    await Promise.all(
      [...table.providers.values()].map(async (slot) => {
        const signal = AbortSignal.timeout(timeoutMs);
        let error: string | undefined;
        try {
          await slot.provider.health({ signal });
        } catch (cause) {
          error = signal.aborted ? `no answer within ${timeoutMs} ms` : cause instanceof Error ? cause.message : String(cause);
        }
        for (const state of table.states.values()) {
          if (state.ref.provider !== slot.config.name) continue;
          if (state.healthy !== false && error !== undefined) {
            this.#logger.warn({ deployment: state.ref.name, err: error }, 'health probe failed');
          } else if (state.healthy === false && error === undefined) {
            this.#logger.info({ deployment: state.ref.name }, 'health probe passed again');
          }
          state.healthy = error === undefined;
          state.lastCheckedAt = new Date();
          state.lastError = error;
        }
      }),
    );
  }
}
