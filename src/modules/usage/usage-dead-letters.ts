import { sql, type Generated, type Kysely, type Selectable } from 'kysely';
import { storableText } from '../../shared/stored-text.ts';
import type { SqlDatabase } from '../../storage/sql-database.ts';
import { usageEventFromJson, usageEventToJson, type UsageEvent } from './usage-event.ts';
import type { UsageStore } from './usage-store.ts';

/** usage_dead_letter: one row per event a usage store refused; `event` is its spool line (escaped JSON). */
interface UsageDeadLetterTable {
  event_id: string;
  tenant_id: string;
  event: string;
  error: string;
  store: string;
  failures: Generated<number>;
  created_at: Generated<Date>;
  last_failed_at: Generated<Date>;
  replayed_at: Date | null;
}

// A type alias, not an interface: Kysely's withTables() wants an indexable record.
type DeadLetterTables = {
  usage_dead_letter: UsageDeadLetterTable;
};

export interface DeadLetter {
  eventId: string;
  tenantId: string;
  event: UsageEvent;
  /** The store's refusal, as it gave it. */
  error: string;
  store: string;
  /** How many times the event was refused, counting replays. */
  failures: number;
  createdAt: Date;
  lastFailedAt: Date;
  replayedAt: Date | null;
}

/** Where the meter sets aside the events a store refused. */
export interface DeadLetterSink {
  add(entries: readonly { event: UsageEvent; error: string }[], store: string): Promise<void>;
}

export interface ReplayResult {
  /** Dead letters the store took (or already held): marked replayed. */
  replayed: string[];
  /** Dead letters the store refused again, with its error. */
  failed: { eventId: string; error: string }[];
  /** Ids asked for that name no dead letter waiting for a replay. */
  missing: string[];
}

const MAX_ERROR = 2_000;

/** The dead letters on the SQL database, whichever store holds usage. */
export class UsageDeadLetters implements DeadLetterSink {
  readonly #db: Kysely<DeadLetterTables>;

  constructor(db: SqlDatabase) {
    this.#db = db.withTables<DeadLetterTables>();
  }

  /** Records each refused event once; a refusal seen again (a retried batch, a failed replay) counts up. */
  async add(entries: readonly { event: UsageEvent; error: string }[], store: string): Promise<void> {
    if (entries.length === 0) return;
    const rows = entries.map(({ event, error }) => ({
      event_id: storableText(event.eventId),
      tenant_id: storableText(event.tenantId),
      // JSON.stringify escapes NUL bytes and lone surrogates, so the text round-trips.
      event: usageEventToJson(event),
      error: storableText(error).slice(0, MAX_ERROR),
      store,
    }));
    await this.#db
      .insertInto('usage_dead_letter')
      .values(rows)
      .onConflict((oc) =>
        oc.column('event_id').doUpdateSet({
          error: (eb) => eb.ref('excluded.error'),
          store: (eb) => eb.ref('excluded.store'),
          failures: sql`usage_dead_letter.failures + 1`,
          last_failed_at: sql`date_trunc('milliseconds', now())`,
          replayed_at: null,
        }),
      )
      .execute();
  }

  /** Dead letters, oldest first; those not replayed yet unless `all`. */
  async list(options: { all?: boolean; limit?: number } = {}): Promise<DeadLetter[]> {
    let query = this.#db.selectFrom('usage_dead_letter').selectAll();
    if (!options.all) query = query.where('replayed_at', 'is', null);
    const rows = await query
      .orderBy('created_at', 'asc')
      .orderBy('event_id', 'asc')
      .limit(options.limit ?? 1_000)
      .execute();
    return rows.map(fromRow);
  }

  /**
   * Inserts dead letters into the store again, one at a time so one still refused does not hold back
   * the rest. The store skips an event it already holds, so a replay repeated stores it once.
   */
  async replay(store: UsageStore, options: { eventIds?: readonly string[] } = {}): Promise<ReplayResult> {
    let query = this.#db.selectFrom('usage_dead_letter').selectAll().where('replayed_at', 'is', null);
    if (options.eventIds && options.eventIds.length > 0) query = query.where('event_id', 'in', [...options.eventIds]);
    const letters = (await query.orderBy('created_at', 'asc').execute()).map(fromRow);
    const found = new Set(letters.map((letter) => letter.eventId));
    const result: ReplayResult = { replayed: [], failed: [], missing: (options.eventIds ?? []).filter((id) => !found.has(id)) };
    for (const letter of letters) {
      try {
        await store.insert([letter.event], { maybeStored: true });
      } catch (error) {
        const message = (error as Error).message;
        await this.add([{ event: letter.event, error: message }], store.kind);
        result.failed.push({ eventId: letter.eventId, error: message });
        continue;
      }
      await this.#db.updateTable('usage_dead_letter').set({ replayed_at: sql<Date>`date_trunc('milliseconds', now())` }).where('event_id', '=', letter.eventId).execute();
      result.replayed.push(letter.eventId);
    }
    return result;
  }
}

function fromRow(row: Selectable<UsageDeadLetterTable>): DeadLetter {
  return {
    eventId: row.event_id,
    tenantId: row.tenant_id,
    event: usageEventFromJson(row.event),
    error: row.error,
    store: row.store,
    failures: row.failures,
    createdAt: row.created_at,
    lastFailedAt: row.last_failed_at,
    replayedAt: row.replayed_at,
  };
}
