import pg from 'pg';
import { randomId } from '../../src/shared/ids.ts';
import { openSqlDatabase, type SqlDatabaseHandle } from '../../src/storage/sql-database.ts';
import { migrateSql } from '../../src/storage/sql-migrations.ts';
import { serviceUrl } from './services.ts';

/** A fresh, empty database for one test file; dispose() drops it. */
export interface TestSqlDatabase {
  /** Pass as DATABASE_URL to an app; undefined means embedded PGlite. */
  databaseUrl: string | undefined;
  dispose(): Promise<void>;
}

export interface SqlDialectUnderTest {
  name: 'pglite' | 'postgres';
  create(): Promise<TestSqlDatabase>;
}

/** Every SQL store the suite runs against, as kysely's tests loop over dialects. */
export function sqlDialects(): SqlDialectUnderTest[] {
  const dialects: SqlDialectUnderTest[] = [{ name: 'pglite', create: async () => ({ databaseUrl: undefined, dispose: async () => {} }) }];
  const serverUrl = serviceUrl('DATABASE');
  if (serverUrl) dialects.push({ name: 'postgres', create: () => createPostgresDatabase(serverUrl) });
  return dialects;
}

async function createPostgresDatabase(serverUrl: string): Promise<TestSqlDatabase> {
  const name = `tollgate_t_${randomId(10)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    databaseUrl: url.toString(),
    dispose: async () => {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await dropWhenIdle(client, name);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * pg's Pool.end() resolves before its connections have said goodbye; killing them then (WITH FORCE)
 * makes them emit an unhandled error. So wait for them to leave, and force only as a last resort.
 */
async function dropWhenIdle(client: pg.Client, name: string): Promise<void> {
  for (let attempt = 0; attempt < 40; attempt += 1) {
    try {
      await client.query(`DROP DATABASE IF EXISTS ${name}`);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== '55006') throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

/** Opens and migrates a database for repository tests (in-memory PGlite, or a fresh Postgres database). */
export async function openMigrated(dialect: SqlDialectUnderTest): Promise<{ handle: SqlDatabaseHandle; dispose(): Promise<void> }> {
  const database = await dialect.create();
  const handle = await openSqlDatabase({ databaseUrl: database.databaseUrl, inMemory: true });
  await migrateSql(handle.db);
  return {
    handle,
    dispose: async () => {
      await handle.db.destroy();
      await database.dispose();
    },
  };
}
