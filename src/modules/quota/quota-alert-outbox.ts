import { sql } from 'kysely';
import type { SqlDatabase } from '../../storage/sql-database.ts';
import type { QuotaAlertDeliveryRow } from './quota-alert-delivery.table.ts';

/**
 * Quota alert webhooks, in the SQL database every instance shares. A row is written before the first
 * attempt and marked done once the platform takes it (or refuses it, or its attempts run out); it is
 * kept a while after, so the same alert raised again is not delivered again. Instances claim due rows
 * for one attempt at a time with SKIP LOCKED, so each attempt is made by one instance; a claim expires
 * should its instance die mid-attempt. Times are the database's clock, so instances with skewed clocks
 * agree on what is due.
 */
export class QuotaAlertOutbox {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  /** Queues an alert; one with the same id (the same tenant, period and threshold), waiting or done, stays as it is. */
  async enqueue(eventId: string, body: string): Promise<void> {
    await this.#db
      .insertInto('quota_alert_delivery')
      .values({ event_id: eventId, body, claimed_until: null, last_error: null, done_at: null, outcome: null })
      .onConflict((c) => c.column('event_id').doNothing())
      .execute();
  }

  /** Claims up to `limit` due rows, oldest due first, for `claimMs`. */
  async claimDue(limit: number, claimMs: number): Promise<QuotaAlertDeliveryRow[]> {
    const due = this.#db
      .selectFrom('quota_alert_delivery')
      .select('event_id')
      .where('done_at', 'is', null)
      .where('next_attempt_at', '<=', sql<Date>`now()`)
      .where((w) => w.or([w('claimed_until', 'is', null), w('claimed_until', '<', sql<Date>`now()`)]))
      .orderBy('next_attempt_at')
      .limit(limit)
      .forUpdate()
      .skipLocked();
    return this.#db
      .updateTable('quota_alert_delivery')
      .set({ claimed_until: sql<Date>`now() + ${claimMs}::integer * interval '1 millisecond'` })
      .where('event_id', 'in', due)
      .returningAll()
      .execute();
  }

  /** The platform took it, refused it, or its attempts ran out. */
  async done(eventId: string, outcome: 'delivered' | 'refused' | 'failed', attempts: number, error?: string): Promise<void> {
    await this.#db
      .updateTable('quota_alert_delivery')
      .set({ done_at: sql<Date>`now()`, outcome, attempts, claimed_until: null, ...(error === undefined ? {} : { last_error: error.slice(0, 500) }) })
      .where('event_id', '=', eventId)
      .execute();
  }

  /** Forgets alerts done more than `days` ago: a period's alerts are not raised again after it ends. */
  async prune(days: number): Promise<void> {
    await this.#db
      .deleteFrom('quota_alert_delivery')
      .where('done_at', '<', sql<Date>`now() - ${days}::integer * interval '1 day'`)
      .execute();
  }

  /** Counts a failed attempt and releases the row until its next attempt is due, `delayMs` from now. */
  async retryLater(eventId: string, attempts: number, delayMs: number, error: string): Promise<void> {
    await this.#db
      .updateTable('quota_alert_delivery')
      .set({
        attempts,
        next_attempt_at: sql<Date>`now() + ${Math.round(delayMs)}::integer * interval '1 millisecond'`,
        claimed_until: null,
        last_error: error.slice(0, 500),
      })
      .where('event_id', '=', eventId)
      .execute();
  }

  /** Gives a claim back without counting an attempt (the instance is shutting down). */
  async release(eventId: string): Promise<void> {
    await this.#db.updateTable('quota_alert_delivery').set({ claimed_until: null }).where('event_id', '=', eventId).execute();
  }

  /** How long until some row is due (or a claim on one runs out), in ms; null when none waits. */
  async nextDueInMs(): Promise<number | null> {
    const row = await this.#db
      .selectFrom('quota_alert_delivery')
      .where('done_at', 'is', null)
      .select(sql<number | null>`extract(epoch from min(greatest(next_attempt_at, coalesce(claimed_until, next_attempt_at))) - now()) * 1000`.as('ms'))
      .executeTakeFirst();
    return row?.ms === null || row?.ms === undefined ? null : Number(row.ms);
  }

  /** Alerts waiting for the platform. */
  async pending(): Promise<number> {
    const row = await this.#db
      .selectFrom('quota_alert_delivery')
      .where('done_at', 'is', null)
      .select((s) => s.fn.countAll<number>().as('count'))
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }
}
