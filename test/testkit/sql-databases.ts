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
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
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
