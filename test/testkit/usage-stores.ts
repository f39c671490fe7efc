import { ClickhouseUsageStore } from '../../src/modules/usage/clickhouse-usage-store.ts';
import { PostgresUsageStore } from '../../src/modules/usage/postgres-usage-store.ts';
import type { UsageStore } from '../../src/modules/usage/usage-store.ts';
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
