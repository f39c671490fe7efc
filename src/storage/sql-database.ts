import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Kysely, PGliteDialect, PostgresDialect, sql, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import type { Database } from '../database.ts';
import { databaseUnavailable, isConnectionFailure, isDatabaseUnavailable } from './database-outage.ts';
import { lockEmbeddedDatabase } from './embedded-lock.ts';
import { startPGliteThread } from './pglite-thread.ts';

export type SqlDatabase = Kysely<Database>;

export interface SqlDatabaseHandle {
  db: SqlDatabase;
  /** "postgres" for a server, "pglite" for the embedded database. */
  kind: 'postgres' | 'pglite';
  /** Where it lives, safe to print (no password). */
  location: string;
}

// bigint (int8) and numeric arrive as strings from pg; int8 counts we store fit in a double,
// so they are parsed at the edge, while numeric (money) stays a decimal string.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/** Postgres when a URL is given, otherwise PGlite in a thread of its own, on disk under the data dir (or in memory for tests). */
export async function openSqlDatabase(options: { databaseUrl?: string; dataDir?: string; inMemory?: boolean }): Promise<SqlDatabaseHandle> {
  if (options.databaseUrl) {
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 10, connectionTimeoutMillis: 5_000 });
    // An idle connection dropped by the server (restart, failover) is discarded by the pool and the next
    // query opens a new one; without a listener the 'error' event would crash the process instead.
    pool.on('error', () => {});
    // A connection reset while a query runs fails that query; the client's own 'error' event, emitted too,
    // must not become an uncaught exception (the pool only listens on idle clients).
    pool.on('connect', (client) => client.on('error', () => {}));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: reportingOutages(pool) }) });
    const location = redactUrl(options.databaseUrl);
    try {
      await sql`select 1`.execute(db);
    } catch (error) {
      await db.destroy();
      throw new Error(`cannot connect to the database at ${location}: ${describeError(error)}`, { cause: error });
    }
    return { db, kind: 'postgres', location };
  }
  let dataPath: string | undefined;
  let release = () => {};
  if (!options.inMemory) {
    dataPath = resolve(join(options.dataDir ?? './.tollgate', 'pgdata'));
    mkdirSync(dataPath, { recursive: true });
    release = lockEmbeddedDatabase(dataPath);
  }
  const pglite = startPGliteThread(dataPath);
  try {
    await pglite.waitReady;
  } catch (error) {
    await pglite.close().catch(() => undefined);
    release();
    throw error;
  }
  // db.destroy() closes PGlite; the data dir is free for another process from then on.
  const close = pglite.close.bind(pglite);
  pglite.close = () => close().finally(release);
  const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
  return { db, kind: 'pglite', location: dataPath ?? 'memory' };
}

/**
 * The pool as Kysely sees it, with every lost or refused connection turned into one UNAVAILABLE error
 * naming the database, so no caller mistakes an outage for a bug (and answers 500).
 */
function reportingOutages(pool: pg.Pool): PostgresPool {
  const translate = (error: unknown) => {
    throw isConnectionFailure(error) ? databaseUnavailable(error) : error;
  };
  // One wrapper per pooled connection, so Kysely keeps its own per-connection state across checkouts.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient =>
    ({
      query: (...args: [never, never]) => {
        const result = client.query(...args) as unknown;
        return result instanceof Promise ? result.catch(translate) : result;
      },
      release: (destroy?: boolean) => client.release(destroy),
      processID: (client as { processID?: number }).processID,
    }) as PostgresPoolClient;
  const wrapClient = (client: pg.PoolClient) => {
    let wrapper = wrappers.get(client);
    if (!wrapper) wrappers.set(client, (wrapper = wrap(client)));
    return wrapper;
  };
  return {
    Client: (pool as unknown as { Client: PostgresPool['Client'] }).Client,
    options: pool.options,
    connect: () => pool.connect().then(wrapClient, translate),
    end: () => pool.end(),
  };
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable url)';
  }
}

function describeError(error: unknown): string {
  if (isDatabaseUnavailable(error)) return describeError((error as Error).cause);
  if (error instanceof AggregateError && error.errors.length > 0) return describeError(error.errors[0]);
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  return code && !message.includes(code) ? `${code} ${message}` : message;
}
