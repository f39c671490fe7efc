import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createdTable, replicatedStatements } from './cluster-ddl.ts';
import { clickhouseMigrationsDir, listClickhouseMigrations, splitStatements } from './migrate.ts';

const cluster = { name: 'tollgate', database: 'usage' };

describe('replicated DDL for CLICKHOUSE_CLUSTER', () => {
  it('makes each table a Replicated one on every server with a Distributed one over it', () => {
    const statement = `CREATE TABLE IF NOT EXISTS usage_events
      (event_id String, tenant_id String, ts DateTime('UTC'))
      ENGINE = MergeTree
      PARTITION BY toYYYYMM(ts)
      ORDER BY (tenant_id, ts, event_id)`;
    const [local, distributed] = replicatedStatements(statement, cluster, new Map([['usage_events', 'cityHash64(event_id)']]));
    expect(local).toMatch(/^CREATE TABLE IF NOT EXISTS usage\.usage_events_local ON CLUSTER tollgate \(event_id String, tenant_id String, ts DateTime\('UTC'\)\)/);
    expect(local).toContain("ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/usage/usage_events', '{replica}')");
    expect(local).toMatch(/PARTITION BY toYYYYMM\(ts\)\s+ORDER BY \(tenant_id, ts, event_id\)$/);
    expect(distributed).toBe(
      'CREATE TABLE IF NOT EXISTS usage.usage_events ON CLUSTER tollgate AS usage.usage_events_local ENGINE = Distributed(tollgate, usage, usage_events_local, cityHash64(event_id))',
    );
  });

  it('adds a column to the replicated tables and makes the Distributed table over them anew', () => {
    expect(replicatedStatements('ALTER TABLE usage_events ADD COLUMN cached_tokens UInt32 DEFAULT 0', cluster, new Map([['usage_events', 'cityHash64(event_id)']]))).toEqual([
      'ALTER TABLE usage.usage_events_local ON CLUSTER tollgate ADD COLUMN cached_tokens UInt32 DEFAULT 0',
      'DROP TABLE IF EXISTS usage.usage_events ON CLUSTER tollgate',
      'CREATE TABLE IF NOT EXISTS usage.usage_events ON CLUSTER tollgate AS usage.usage_events_local ENGINE = Distributed(tollgate, usage, usage_events_local, cityHash64(event_id))',
    ]);
  });

  it('keeps an engine argument, and spreads a table without event ids at random', () => {
    const [local, distributed] = replicatedStatements('CREATE TABLE IF NOT EXISTS totals (k String, n UInt64) ENGINE = SummingMergeTree((n)) ORDER BY k', cluster, new Map());
    expect(local).toContain("ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/usage/totals', '{replica}', (n)) ORDER BY k");
    expect(distributed).toMatch(/Distributed\(tollgate, usage, totals_local, rand\(\)\)$/);
  });

  it('points a materialized view from local rows to the local rollup, and leaves inserts to the Distributed tables', () => {
    const known = new Map([['usage_events', 'cityHash64(event_id)'], ['usage_hourly', 'rand()']]);
    expect(replicatedStatements('CREATE MATERIALIZED VIEW IF NOT EXISTS usage_hourly_mv TO usage_hourly AS\nSELECT tenant_id, count() AS requests FROM usage_events GROUP BY tenant_id', cluster, known)).toEqual([
      'CREATE MATERIALIZED VIEW IF NOT EXISTS usage.usage_hourly_mv ON CLUSTER tollgate TO usage.usage_hourly_local AS SELECT tenant_id, count() AS requests FROM usage.usage_events_local GROUP BY tenant_id',
    ]);
    expect(replicatedStatements('CREATE VIEW IF NOT EXISTS llm_requests AS SELECT tenant_id FROM usage_events', cluster, known)).toEqual([
      'CREATE VIEW IF NOT EXISTS usage.llm_requests ON CLUSTER tollgate AS SELECT tenant_id FROM usage.usage_events',
    ]);
    const backfill = 'INSERT INTO usage_hourly (tenant_id) SELECT tenant_id FROM usage_events WHERE (SELECT count() FROM usage_hourly) = 0';
    expect(replicatedStatements(backfill, cluster, known)).toEqual([backfill]);
  });

  it('refuses a statement it has no replicated form for, naming it', () => {
    expect(() => replicatedStatements('CREATE TABLE IF NOT EXISTS t (a String) ENGINE = Log', cluster, new Map())).toThrow('table t: engine "Log" has no replicated form here');
    expect(() => replicatedStatements('ALTER TABLE usage_events ADD COLUMN x String', cluster, new Map())).toThrow('no replicated form for: ALTER TABLE usage_events ADD COLUMN x String');
    expect(() => replicatedStatements('ALTER TABLE usage_events DROP COLUMN x', cluster, new Map([['usage_events', 'rand()']]))).toThrow('no replicated form');
    expect(() => replicatedStatements('CREATE MATERIALIZED VIEW IF NOT EXISTS v ENGINE = MergeTree ORDER BY a AS SELECT a FROM t', cluster, new Map())).toThrow();
  });

  it("has a replicated form for every statement of the repository's migrations", async () => {
    const tables = new Map<string, string>();
    let creates = 0;
    for (const migration of await listClickhouseMigrations(clickhouseMigrationsDir)) {
      for (const statement of splitStatements(await readFile(migration.path, 'utf8'))) {
        const table = createdTable(statement);
        if (table) tables.set(table.name, table.sharding);
        const replicated = replicatedStatements(statement, cluster, tables);
        if (table) creates += 1;
        for (const line of replicated) expect(line).not.toMatch(/ENGINE = (Merge|Summing|Aggregating|Replacing)/);
      }
    }
    expect(creates).toBeGreaterThanOrEqual(4);
  });
});
