import { Redis } from 'ioredis';
import pg from 'pg';
import { createClickhouse } from '../../../src/clickhouse/client.ts';

// The gateway runs against the real servers when their URLs are set (TOLLGATE_BENCH_<NAME>_URL, else
// the tests' TOLLGATE_TEST_<NAME>_URL), each in a database of its own that is dropped afterwards;
// otherwise, or with --embedded, on the embedded defaults (PGlite, in-memory limits).

export interface BenchServices {
  env: Record<string, string>;
  description: string;
  cleanup(): Promise<void>;
}

/** A server's URL for the bench: TOLLGATE_BENCH_<NAME>_URL, else the tests' TOLLGATE_TEST_<NAME>_URL. */
export const benchUrl = (name: string) => process.env[`TOLLGATE_BENCH_${name}_URL`]?.trim() || process.env[`TOLLGATE_TEST_${name}_URL`]?.trim() || undefined;

export async function prepareServices(options: { embedded: boolean; dataDir: string; redisKeyPrefix: string }): Promise<BenchServices> {
  const env: Record<string, string> = {};
  const parts: string[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const database = `tollgate_bench_${process.pid}`;
  const postgres = options.embedded ? undefined : benchUrl('DATABASE');
  const redis = options.embedded ? undefined : benchUrl('REDIS');
  const clickhouse = options.embedded ? undefined : benchUrl('CLICKHOUSE');

  if (postgres) {
    const admin = new pg.Client({ connectionString: postgres });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database}`);
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const dbUrl = new URL(postgres);
    dbUrl.pathname = `/${database}`;
    env.DATABASE_URL = dbUrl.toString();
    parts.push('Postgres');
    cleanups.push(async () => {
      const dropper = new pg.Client({ connectionString: postgres });
      await dropper.connect();
      await dropper.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await dropper.end();
    });
  } else {
    parts.push('embedded PGlite');
  }
  if (redis) {
    env.REDIS_URL = redis;
    env.TOLLGATE_LIMITS_KEY_PREFIX = options.redisKeyPrefix;
    parts.push('Redis');
    // Remembered request ids and quota counters would otherwise stay for an hour or a month.
    cleanups.push(async () => {
      const client = new Redis(redis);
      try {
        let cursor = '0';
        do {
          const [next, keys] = await client.scan(cursor, 'MATCH', `${options.redisKeyPrefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) await client.unlink(...keys);
        } while (cursor !== '0');
      } finally {
        client.disconnect();
      }
    });
  } else {
    parts.push('in-memory limits');
  }
  if (clickhouse) {
    const admin = createClickhouse(clickhouse);
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
    await admin.close();
    const chUrl = new URL(clickhouse);
    chUrl.pathname = `/${database}`;
    env.CLICKHOUSE_URL = chUrl.toString();
    parts.push('usage in ClickHouse');
    cleanups.push(async () => {
      const dropper = createClickhouse(clickhouse);
      await dropper.command({ query: `DROP DATABASE IF EXISTS ${database}` });
      await dropper.close();
    });
  } else {
    parts.push(postgres ? 'usage in Postgres' : 'usage in PGlite');
  }
  return {
    env,
    description: parts.join(', '),
    cleanup: async () => {
      for (const cleanup of cleanups) await cleanup().catch(() => undefined);
    },
  };
}
