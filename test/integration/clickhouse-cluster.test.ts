import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickhouse, type ClickHouseClient } from '../../src/clickhouse/client.ts';
import { clickhouseMigrationsDir, migrateClickhouse } from '../../src/clickhouse/migrate.ts';
import { ClickhouseUsageStore } from '../../src/modules/usage/clickhouse-usage-store.ts';
import { newUsageEvent, type UsageEvent } from '../../src/modules/usage/usage-event.ts';
import { randomId } from '../../src/shared/ids.ts';
import { serviceUrl } from '../testkit/services.ts';

// CLICKHOUSE_CLUSTER on two replicas of one shard and ZooKeeper (scripts/services.sh start-one
// clickhouse-cluster, cluster "tollgate"): TOLLGATE_TEST_CLICKHOUSE_CLUSTER_URL lists both servers.

const run = promisify(execFile);
const clusterUrls = serviceUrl('CLICKHOUSE_CLUSTER')?.split(',');
const clusterName = 'tollgate';
const stateDir = process.env.TOLLGATE_SERVICES_DIR ?? '/tmp/tollgate-services';

describe.runIf(clusterUrls)('usage on a replicated ClickHouse cluster', () => {
  const database = `tollgate_cluster_${randomId(8).toLowerCase()}`;
  const clients: ClickHouseClient[] = [];
  let admin: ClickHouseClient;
  let one: ClickHouseClient;
  let two: ClickHouseClient;
  const tenantId = `tnt_${randomId(8)}`;

  const open = (url: string) => {
    const databaseUrl = new URL(url);
    databaseUrl.pathname = `/${database}`;
    const client = createClickhouse(databaseUrl.toString(), { cluster: true });
    clients.push(client);
    return client;
  };
  const store = (client: ClickHouseClient) => new ClickhouseUsageStore(client, { retentionMonths: 18, insertTimeoutMs: 10_000 });
  const rows = async <T,>(client: ClickHouseClient, query: string) => (await client.query({ query, format: 'JSONEachRow' })).json<T>();
  const count = async (client: ClickHouseClient, table: string) => Number((await rows<{ n: string }>(client, `SELECT count() AS n FROM ${table} WHERE tenant_id = '${tenantId}'`))[0]!.n);
  const events = (n: number, base: number): UsageEvent[] =>
    Array.from({ length: n }, (_, i) =>
      newUsageEvent({ requestId: `req_${base + i}`, tenantId, requestedModel: 'chat-model', kind: 'chat', node: 'test', promptTokens: 3, completionTokens: 4 }),
    );
  const activeParts = async (client: ClickHouseClient, tables: string[]) =>
    rows<{ table: string; partition: string }>(
      client,
      `SELECT table, partition FROM system.parts WHERE database = currentDatabase() AND active AND table IN (${tables.map((t) => `'${t}'`).join(', ')})`,
    );
  const totals = async (client: ClickHouseClient) => {
    const report = await store(client).report({ tenantIds: [tenantId], range: { from: new Date(Date.now() - 86_400_000), to: new Date(Date.now() + 86_400_000) }, groupBy: null, filter: {}, latency: false });
    const { requests, totalTokens } = report.get(tenantId)!.totals;
    return { requests, totalTokens };
  };

  beforeAll(async () => {
    admin = createClickhouse(clusterUrls![0]!);
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${database} ON CLUSTER ${clusterName}` });
    one = open(clusterUrls![0]!);
    two = open(clusterUrls![1]!);
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await admin?.command({ query: `DROP DATABASE IF EXISTS ${database} ON CLUSTER ${clusterName}` });
    await admin?.close();
  });

  it('migrates once for the whole cluster: replicated tables, rollups, and Distributed tables over them', async () => {
    const applied = await migrateClickhouse(one, clickhouseMigrationsDir, undefined, { name: clusterName, database });
    expect(applied.length).toBeGreaterThanOrEqual(3);
    // The other server sees the migrations as applied: the record is replicated too.
    await two.command({ query: 'SYSTEM SYNC REPLICA schema_migrations' });
    expect(await migrateClickhouse(two, clickhouseMigrationsDir, undefined, { name: clusterName, database })).toEqual([]);
    const engines = Object.fromEntries(
      (await rows<{ name: string; engine: string }>(two, `SELECT name, engine FROM system.tables WHERE database = '${database}'`)).map((t) => [t.name, t.engine]),
    );
    expect(engines).toMatchObject({
      usage_events: 'Distributed',
      usage_events_local: 'ReplicatedMergeTree',
      usage_hourly: 'Distributed',
      usage_hourly_local: 'ReplicatedSummingMergeTree',
      usage_daily_local: 'ReplicatedSummingMergeTree',
      usage_daily_latency_local: 'ReplicatedAggregatingMergeTree',
      usage_hourly_mv: 'MaterializedView',
      schema_migrations: 'ReplicatedMergeTree',
    });
  });

  it('writes through one server and reads the same usage on the other, each event once however often sent', async () => {
    const batch = events(20, 0);
    expect(await store(one).insert(batch)).toEqual({ inserted: 20, skipped: 0 });
    // A resend (its reply was lost) through the same server finds the events stored and skips them...
    expect(await store(one).insert(batch)).toEqual({ inserted: 0, skipped: 20 });
    // ...and the same block sent again as is, past that check, is dropped by the replicated table.
    await one.insert({ table: 'usage_events', values: await rows(one, `SELECT * FROM usage_events WHERE tenant_id = '${tenantId}' ORDER BY event_id`), format: 'JSONEachRow' });
    await two.command({ query: 'SYSTEM SYNC REPLICA usage_events_local' });
    await two.command({ query: 'SYSTEM SYNC REPLICA usage_hourly_local' });
    expect(await count(two, 'usage_events')).toBe(20);
    expect(await totals(two)).toEqual({ requests: 20, totalTokens: 140 });
    expect(await totals(one)).toEqual({ requests: 20, totalTokens: 140 });
  });

  it('loses nothing while a replica is away: it catches up when it comes back', async () => {
    const pid = Number(await readFile(`${stateDir}/clickhouse-cluster/2/clickhouse.pid`, 'utf8'));
    process.kill(pid, 'SIGKILL');
    await expect(two.ping()).resolves.toMatchObject({ success: false });
    expect(await store(one).insert(events(10, 100))).toEqual({ inserted: 10, skipped: 0 });
    expect(await totals(one)).toEqual({ requests: 30, totalTokens: 210 });
    await run('bash', ['scripts/services.sh', 'start-one', 'clickhouse-cluster'], { timeout: 120_000 });
    await two.command({ query: 'SYSTEM SYNC REPLICA usage_events_local' });
    await two.command({ query: 'SYSTEM SYNC REPLICA usage_hourly_local' });
    expect(await count(two, 'usage_events_local')).toBe(30);
    expect(await totals(two)).toEqual({ requests: 30, totalTokens: 210 });
  });

  it('drops the months past the retention from the replicated tables, on both servers', async () => {
    const clustered = new ClickhouseUsageStore(one, { retentionMonths: 18, insertTimeoutMs: 10_000, cluster: clusterName });
    // Every month so far is past the retention 20 years on, and each table's rows live in its _local twin.
    const later = new Date(Date.now() + 20 * 365 * 86_400_000);
    expect(await activeParts(one, ['usage_events_local', 'usage_hourly_local'])).not.toEqual([]);
    // The replica restarted just before may still be electing its leader; retention runs again later anyway.
    for (let attempt = 0; ; attempt += 1) {
      try {
        await clustered.enforceRetention(later);
        break;
      } catch (error) {
        if (attempt === 20 || !String(error).includes('Leader was suddenly changed')) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    // An attempt cut by a leader change may have dropped a month on the server before it failed, so the
    // proof is the parts left on each server, not the list the last attempt returned.
    await two.command({ query: 'SYSTEM SYNC REPLICA usage_events_local' });
    await two.command({ query: 'SYSTEM SYNC REPLICA usage_hourly_local' });
    for (const server of [one, two]) {
      expect(await activeParts(server, ['usage_events_local', 'usage_hourly_local'])).toEqual([]);
    }
    expect(await count(one, 'usage_events')).toBe(0);
    expect(await count(two, 'usage_events_local')).toBe(0);
    expect(await totals(two)).toEqual({ requests: 0, totalTokens: 0 });
  });
});
