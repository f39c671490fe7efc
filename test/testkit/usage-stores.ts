import { ClickhouseUsageStore } from '../../src/modules/usage/clickhouse-usage-store.ts';
import { PostgresUsageStore } from '../../src/modules/usage/postgres-usage-store.ts';
import type { UsageStore } from '../../src/modules/usage/usage-store.ts';
import { startTestApp, type TestApp } from './app.ts';
import { createClickhouseDatabase } from './clickhouse-databases.ts';
import { serviceUrl } from './services.ts';
import { openMigrated, sqlDialects } from './sql-databases.ts';

export interface UsageStoreUnderTest {
  name: 'pglite' | 'postgres' | 'clickhouse';
  create(): Promise<{ store: UsageStore; dispose(): Promise<void> }>;
}

/** Every usage store the contract suite runs against: PGlite always, Postgres and ClickHouse when their servers are set. */
export function usageStores(options: { retentionMonths?: number } = {}): UsageStoreUnderTest[] {
  const retentionMonths = options.retentionMonths ?? 18;
  const stores: UsageStoreUnderTest[] = sqlDialects().map((dialect) => ({
    name: dialect.name,
    create: async () => {
      const { handle, dispose } = await openMigrated(dialect);
      return { store: new PostgresUsageStore(handle.db, { kind: handle.kind, retentionMonths }), dispose };
    },
  }));
  const clickhouseUrl = serviceUrl('CLICKHOUSE');
  if (clickhouseUrl) {
    stores.push({
      name: 'clickhouse',
      create: async () => {
        const database = await createClickhouseDatabase(clickhouseUrl);
        const store = new ClickhouseUsageStore(database.client, { retentionMonths, insertTimeoutMs: 10_000 });
        await store.prepare();
        return { store, dispose: database.dispose };
      },
    });
  }
  return stores;
}

/** A gateway on one usage store: each SQL dialect's, and ClickHouse's when its URL is set. */
export interface UsageStoreBackend {
  name: string;
  start(options: Parameters<typeof startTestApp>[0]): Promise<{ gateway: TestApp; dispose(): Promise<void> }>;
}

export function usageStoreBackends(): UsageStoreBackend[] {
  const backends: UsageStoreBackend[] = sqlDialects().map((dialect) => ({
    name: dialect.name,
    start: async (options) => {
      const database = await dialect.create();
      const gateway = await startTestApp({ ...options, databaseUrl: database.databaseUrl });
      return { gateway, dispose: async () => (await gateway.stop(), await database.dispose()) };
    },
  }));
  const clickhouseUrl = serviceUrl('CLICKHOUSE');
  if (clickhouseUrl) {
    backends.push({
      name: 'clickhouse',
      start: async (options) => {
        const clickhouse = await createClickhouseDatabase(clickhouseUrl, { migrate: false });
        const gateway = await startTestApp({ ...options, clickhouseUrl: clickhouse.url });
        return { gateway, dispose: async () => (await gateway.stop(), await clickhouse.dispose()) };
      },
    });
  }
  return backends;
}
