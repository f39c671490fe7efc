import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'kysely';
import { openSqlDatabase, type SqlDatabaseHandle } from './sql-database.ts';

// The embedded database answers from its own thread: what crosses the message port must be what PGlite
// in the same thread gave (rows, Postgres error fields, transactions that commit or roll back whole).

let handle: SqlDatabaseHandle;
beforeAll(async () => {
  handle = await openSqlDatabase({ inMemory: true });
  await sql`create table thing (id int primary key, name text not null, at timestamptz, n int8)`.execute(handle.db);
});
afterAll(() => handle.db.destroy());

it('returns typed rows: dates as Date, int8 as a number', async () => {
  await sql`insert into thing values (1, 'one', '2026-01-02T03:04:05Z', 9007199254740991)`.execute(handle.db);
  const { rows } = await sql<{ id: number; at: Date; n: number }>`select id, at, n from thing where id = ${1}`.execute(handle.db);
  expect(rows).toEqual([{ id: 1, at: new Date('2026-01-02T03:04:05Z'), n: 9007199254740991 }]);
});

it('keeps the SQLSTATE and constraint of a failed statement', async () => {
  await sql`insert into thing values (2, 'two', null, null)`.execute(handle.db);
  const failure = await sql`insert into thing values (2, 'again', null, null)`.execute(handle.db).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(Error);
  expect(failure).toMatchObject({ code: '23505', constraint: 'thing_pkey' });
});

it('commits a transaction whole and rolls a failed one back whole', async () => {
  await handle.db.transaction().execute(async (trx) => {
    await sql`insert into thing values (10, 'ten', null, null)`.execute(trx);
    await sql`insert into thing values (11, 'eleven', null, null)`.execute(trx);
  });
  const failed = handle.db
    .transaction()
    .execute(async (trx) => {
      await sql`insert into thing values (12, 'twelve', null, null)`.execute(trx);
      await sql`insert into thing values (10, 'duplicate', null, null)`.execute(trx);
    })
    .catch((error: unknown) => error);
  expect(await failed).toMatchObject({ code: '23505' });
  const { rows } = await sql<{ id: number }>`select id from thing where id >= 10 order by id`.execute(handle.db);
  expect(rows.map((row) => row.id)).toEqual([10, 11]);
});

it('runs statements from outside a transaction after it ends, never inside it', async () => {
  let outside: Promise<unknown> | undefined;
  await handle.db
    .transaction()
    .execute(async (trx) => {
      await sql`insert into thing values (20, 'inside', null, null)`.execute(trx);
      outside = sql`insert into thing values (21, 'outside', null, null)`.execute(handle.db);
      throw new Error('roll back');
    })
    .catch(() => undefined);
  await outside;
  const { rows } = await sql<{ id: number }>`select id from thing where id >= 20 order by id`.execute(handle.db);
  expect(rows.map((row) => row.id)).toEqual([21]);
});
