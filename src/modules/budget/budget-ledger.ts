import type { RedisClient } from '../../storage/redis-connection.ts';

// What each budget has spent this period, in integer micro-units: in Redis when configured (shared by
// every instance), in memory otherwise. A period's counter is seeded once from the usage store (the
// first seed wins), then each settled request adds its cost atomically, so the settlement that carries
// a counter across a threshold is the only one to see it crossed.

export interface BudgetLedger {
  /** The spent micro-units of each counter; null where it is not seeded yet. */
  spent(keys: readonly string[]): Promise<(number | null)[]>;
  /** Seeds an unseeded counter (kept until expiresAtMs); returns its value, the seed or what another seed set first. */
  seed(key: string, micros: number, expiresAtMs: number): Promise<number>;
  /** Adds to a seeded counter and returns it after; null when unseeded (the seed will read the store). */
  add(key: string, micros: number): Promise<number | null>;
}

export class MemoryBudgetLedger implements BudgetLedger {
  readonly #counters = new Map<string, { micros: number; expiresAtMs: number }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async spent(keys: readonly string[]): Promise<(number | null)[]> {
    return keys.map((key) => this.#live(key)?.micros ?? null);
  }

  async seed(key: string, micros: number, expiresAtMs: number): Promise<number> {
    const existing = this.#live(key);
    if (existing) return existing.micros;
    this.#counters.set(key, { micros, expiresAtMs });
    return micros;
  }

  async add(key: string, micros: number): Promise<number | null> {
    const counter = this.#live(key);
    if (!counter) return null;
    counter.micros += micros;
    return counter.micros;
  }

  #live(key: string) {
    const counter = this.#counters.get(key);
    if (counter && counter.expiresAtMs <= this.#now()) {
      this.#counters.delete(key);
      return undefined;
    }
    return counter;
  }
}

const addIfSeeded = `if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end return false`;

export class RedisBudgetLedger implements BudgetLedger {
  readonly #redis: RedisClient;

  constructor(redis: RedisClient) {
    this.#redis = redis;
  }

  async spent(keys: readonly string[]): Promise<(number | null)[]> {
    if (keys.length === 0) return [];
    const values = await this.#redis.mget(...keys);
    return values.map((value) => (value === null ? null : Number(value)));
  }

  async seed(key: string, micros: number, expiresAtMs: number): Promise<number> {
    await this.#redis.set(key, String(micros), 'PXAT', expiresAtMs, 'NX');
    const value = await this.#redis.get(key);
    return value === null ? micros : Number(value);
  }

  async add(key: string, micros: number): Promise<number | null> {
    const after = (await this.#redis.eval(addIfSeeded, 1, key, String(micros))) as number | null;
    return after === null ? null : Number(after);
  }
}
