export type BreakerState = 'closed' | 'open' | 'half-open';

/** What a call was allowed as: an ordinary call, or the single probe of a half-open breaker. */
export type BreakerPermit = 'call' | 'probe';

export type CallOutcome = 'success' | 'failure' | 'neutral';

export interface BreakerSettings {
  failures: number;
  cooldownMs: number;
}

/**
 * Per-deployment circuit breaker: opens after N consecutive failures, lets exactly one probe through
 * once the cooldown has passed, closes when that probe succeeds and re-opens when it fails.
 * Outcomes of calls that started before the breaker opened do not close it; only the probe does.
 */
export class CircuitBreaker {
  #settings: BreakerSettings;
  #open = false;
  #openedAt = 0;
  #consecutiveFailures = 0;
  #probing = false;
  readonly #now: () => number;

  constructor(settings: BreakerSettings, now: () => number = performance.now.bind(performance)) {
    this.#settings = settings;
    this.#now = now;
  }

  /** New thresholds from a reloaded config apply from the next outcome on. */
  configure(settings: BreakerSettings): void {
    this.#settings = settings;
  }

  get state(): BreakerState {
    if (!this.#open) return 'closed';
    return this.#now() - this.#openedAt >= this.#settings.cooldownMs ? 'half-open' : 'open';
  }

  get consecutiveFailures(): number {
    return this.#consecutiveFailures;
  }

  /** How long until an open breaker lets a probe through; 0 when it is not open. */
  get retryInMs(): number {
    return this.#open ? Math.max(0, this.#settings.cooldownMs - (this.#now() - this.#openedAt)) : 0;
  }

  /** Whether a call could be let through now (no side effect; see tryAcquire). */
  get available(): boolean {
    const state = this.state;
    return state === 'closed' || (state === 'half-open' && !this.#probing);
  }

  /** Lets a call through, claiming the probe when half-open; undefined when the breaker refuses. */
  tryAcquire(): BreakerPermit | undefined {
    const state = this.state;
    if (state === 'closed') return 'call';
    if (state === 'half-open' && !this.#probing) {
      this.#probing = true;
      return 'probe';
    }
    return undefined;
  }

  /** Records how a permitted call ended; returns the new state when this outcome changed it. */
  record(permit: BreakerPermit, outcome: CallOutcome): BreakerState | undefined {
    if (permit === 'probe') {
      this.#probing = false;
      if (outcome === 'success') return this.#close();
      if (outcome === 'failure') return this.#trip();
      return undefined;
    }
    if (this.#open) return undefined;
    if (outcome === 'success') this.#consecutiveFailures = 0;
    if (outcome === 'failure' && ++this.#consecutiveFailures >= this.#settings.failures) return this.#trip();
    return undefined;
  }

  #trip(): BreakerState {
    this.#open = true;
    this.#openedAt = this.#now();
    return 'open';
  }

  #close(): BreakerState {
    this.#open = false;
    this.#consecutiveFailures = 0;
    return 'closed';
  }
}
