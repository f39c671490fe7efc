import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { UsageConfig } from '../../config.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Tracing } from '../../observability/tracing.ts';
import type { SqlDatabaseHandle } from '../../storage/sql-database.ts';
import { ClickhouseUsageStore } from './clickhouse-usage-store.ts';
import { PostgresUsageStore } from './postgres-usage-store.ts';
import { UsageDeadLetters } from './usage-dead-letters.ts';
import { UsageMeter } from './usage-meter.ts';
import type { UsageStore } from './usage-store.ts';

const RETENTION_EVERY_MS = 6 * 3_600_000;

/** The meter the request path records into, and the store behind it and behind every usage query. */
export interface UsageRuntime {
  meter: UsageMeter;
  store: UsageStore;
  /** Flushes the meter (graceful shutdown) and stops the retention timer; call before the stores close. */
  close(): Promise<void>;
}

export interface UsageRuntimeOptions {
  config: UsageConfig;
  dataDir: string;
  logger: Logger;
  db: SqlDatabaseHandle;
  /** Set when CLICKHOUSE_URL is: usage then lives there, otherwise in the SQL database. */
  clickhouse: ClickHouseClient | undefined;
  /** CLICKHOUSE_CLUSTER, when the ClickHouse tables are replicated. */
  clickhouseCluster?: string | undefined;
  /** Set when tracing is on: each store insert becomes a span. */
  tracing?: Tracing | undefined;
}

export async function startUsage(options: UsageRuntimeOptions): Promise<UsageRuntime> {
  const { config, logger } = options;
  let store: UsageStore;
  if (options.clickhouse) {
    const clickhouse = new ClickhouseUsageStore(options.clickhouse, {
      retentionMonths: config.retentionMonths,
      insertTimeoutMs: config.insertTimeoutMs,
      cluster: options.clickhouseCluster,
    });
    const { ttl } = await clickhouse.prepare();
    logger.info({ retentionMonths: config.retentionMonths, ttl }, ttl ? 'usage: ClickHouse TTL set' : 'usage: ClickHouse has no TTL; old partitions are dropped instead');
    store = clickhouse;
  } else {
    store = new PostgresUsageStore(options.db.db, { kind: options.db.kind, retentionMonths: config.retentionMonths });
  }
  const meter = await UsageMeter.open({
    store,
    deadLetters: new UsageDeadLetters(options.db.db),
    spoolDir: join(options.dataDir, 'spool', 'usage'),
    logger,
    flushIntervalMs: config.flushIntervalMs,
    batchSize: config.batchSize,
    insertIntervalMs: config.insertIntervalMs,
    maxQueued: config.maxQueued,
    spoolMaxBytes: config.spoolMaxBytes,
    insertTimeoutMs: config.insertTimeoutMs,
    closeTimeoutMs: config.closeTimeoutMs,
    tracing: options.tracing,
  });
  const enforce = () => {
    store.enforceRetention(new Date()).then(
      (dropped) => dropped.length > 0 && logger.info({ dropped }, 'usage: dropped events past the retention'),
      (error: unknown) => logger.warn({ err: error }, 'usage: retention check failed; it runs again later'),
    );
  };
  const first = setTimeout(enforce, 60_000);
  const retention = setInterval(enforce, RETENTION_EVERY_MS);
  first.unref();
  retention.unref();
  return {
    meter,
    store,
    close: async () => {
      clearTimeout(first);
      clearInterval(retention);
      await meter.close();
    },
  };
}
