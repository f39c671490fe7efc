import { sql, type Kysely } from 'kysely';
import type { Database } from '../../database.ts';
import type { CachedCompletion, ResponseCache } from './response-cache.ts';

/** How often, at most, a write also deletes the expired rows. */
const SWEEP_EVERY_MS = 60_000;

/**
 * The persistent level: answers kept in the SQL database across restarts until their TTL runs out.
 * Like Redis, a failing database is a miss, never an error for the caller.
 */
export class SqlResponseCache implements ResponseCache {
  readonly #db: Kysely<Database>;
  readonly #ttlMs: number;
  readonly #onError: (error: unknown) => void;
  #lastSweep = 0;

  constructor(options: { db: Kysely<Database>; ttlMs: number; onError: (error: unknown) => void }) {
    this.#db = options.db;
    this.#ttlMs = options.ttlMs;
    this.#onError = options.onError;
  }

  async get(key: string): Promise<CachedCompletion | undefined> {
    try {
      const row = await this.#db
        .selectFrom('response_cache')
        .select('entry')
        .where('key', '=', key)
        .where('expires_at', '>', sql<Date>`now()`)
        .executeTakeFirst();
      return row?.entry;
    } catch (error) {
      this.#onError(error);
      return undefined;
    }
  }

  async set(key: string, value: CachedCompletion): Promise<void> {
    const expiresAt = new Date(Date.now() + this.#ttlMs);
    try {
      await this.#db
        .insertInto('response_cache')
        .values({ key, tenant_id: tenantOf(key), entry: JSON.stringify(value), expires_at: expiresAt })
        .onConflict((oc) => oc.column('key').doUpdateSet({ entry: (eb) => eb.ref('excluded.entry'), expires_at: expiresAt }))
        .execute();
      if (Date.now() - this.#lastSweep >= SWEEP_EVERY_MS) {
        this.#lastSweep = Date.now();
        await this.#db.deleteFrom('response_cache').where('expires_at', '<=', sql<Date>`now()`).execute();
      }
    } catch (error) {
      this.#onError(error);
    }
  }
}

const tenantOf = (key: string) => key.slice(0, key.indexOf(':'));
