import { createClickhouse, type ClickHouseClient } from '../../src/clickhouse/client.ts';
import { identifier } from '../../src/clickhouse/escape.ts';
import { clickhouseMigrationsDir, migrateClickhouse } from '../../src/clickhouse/migrate.ts';
import { randomId } from '../../src/shared/ids.ts';

/** A fresh, migrated ClickHouse database for one test (files run in parallel); dispose() drops it. */
export interface TestClickhouseDatabase {
  /** CLICKHOUSE_URL for an app or a store: the server URL with the database as its path. */
  url: string;
  database: string;
  client: ClickHouseClient;
  dispose(): Promise<void>;
}

export async function createClickhouseDatabase(serverUrl: string, options: { migrate?: boolean } = {}): Promise<TestClickhouseDatabase> {
  const database = identifier(`tollgate_t_${randomId(10)}`);
  const admin = createClickhouse(serverUrl);
  try {
    await admin.command({ query: `CREATE DATABASE ${database}` });
  } finally {
    await admin.close();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  const client = createClickhouse(url.toString());
  if (options.migrate !== false) await migrateClickhouse(client, clickhouseMigrationsDir);
  return {
    url: url.toString(),
    database,
    client,
    dispose: async () => {
      await client.close();
      const dropper = createClickhouse(serverUrl);
      try {
        await dropper.command({ query: `DROP DATABASE IF EXISTS ${database}` });
      } finally {
        await dropper.close();
      }
    },
  };
}
