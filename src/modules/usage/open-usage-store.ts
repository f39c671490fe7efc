import type { ClickHouseClient } from '@clickhouse/client';
import type { UsageConfig } from '../../config.ts';
import type { Logger } from '../../shared/logger.ts';
import type { SqlDatabaseHandle } from '../../storage/sql-database.ts';
import { ClickhouseUsageStore } from './clickhouse-usage-store.ts';
import { PostgresUsageStore } from './postgres-usage-store.ts';
import type { UsageStore } from './usage-store.ts';

export interface UsageStoreOptions {
  config: UsageConfig;
  logger: Logger;
  db: SqlDatabaseHandle;
  /** Set when CLICKHOUSE_URL is: usage then lives there, otherwise in the SQL database. */
  clickhouse: ClickHouseClient | undefined;
  /** CLICKHOUSE_CLUSTER, when the ClickHouse tables are replicated. */
  clickhouseCluster?: string | undefined;
}

/** The store behind the meter and every usage query: ClickHouse when configured, else the SQL database. */
export async function openUsageStore(options: UsageStoreOptions): Promise<UsageStore> {
  const { config, logger } = options;
  if (!options.clickhouse) return new PostgresUsageStore(options.db.db, { kind: options.db.kind, retentionMonths: config.retentionMonths });
  const clickhouse = new ClickhouseUsageStore(options.clickhouse, {
    retentionMonths: config.retentionMonths,
    insertTimeoutMs: config.insertTimeoutMs,
    cluster: options.clickhouseCluster,
  });
  const { ttl } = await clickhouse.prepare();
  logger.info({ retentionMonths: config.retentionMonths, ttl }, ttl ? 'usage: ClickHouse TTL set' : 'usage: ClickHouse has no TTL; old partitions are dropped instead');
  return clickhouse;
}
