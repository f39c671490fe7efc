// Usage store benchmark: ingestion into ClickHouse through the meter (spool, group commit, batches),
// and report latency for one tenant's month by day with 10M events in ClickHouse and 1M in Postgres.
//
//   TOLLGATE_TEST_CLICKHOUSE_URL=http://127.0.0.1:8123 TOLLGATE_TEST_DATABASE_URL=postgres://... \
//     node test/bench/usage-store.ts [--events 10000000] [--pg-events 1000000] [--ingest-seconds 10]
//
// Each run uses its own databases and drops them. Seeding uses INSERT ... SELECT from numbers() in
// ClickHouse and generate_series in Postgres, so it takes a minute or two, not an hour.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import pg from 'pg';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { createClickhouse } from '../../src/clickhouse/client.ts';
import { clickhouseMigrationsDir, migrateClickhouse } from '../../src/clickhouse/migrate.ts';
import { ClickhouseUsageStore } from '../../src/modules/usage/clickhouse-usage-store.ts';
import { PostgresUsageStore } from '../../src/modules/usage/postgres-usage-store.ts';
import { newUsageEvent } from '../../src/modules/usage/usage-event.ts';
import { UsageMeter } from '../../src/modules/usage/usage-meter.ts';
import type { ReportQuery, UsageStore } from '../../src/modules/usage/usage-store.ts';
import { randomId } from '../../src/shared/ids.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { openSqlDatabase } from '../../src/storage/sql-database.ts';
import { migrateSql } from '../../src/storage/sql-migrations.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '10000000' },
    'pg-events': { type: 'string', default: '1000000' },
    'ingest-seconds': { type: 'string', default: '10' },
    tenants: { type: 'string', default: '200' },
  },
});
const CH_EVENTS = Number(args.events);
const PG_EVENTS = Number(args['pg-events']);
const INGEST_SECONDS = Number(args['ingest-seconds']);
const TENANTS = Number(args.tenants);
const clickhouseUrl = process.env.TOLLGATE_TEST_CLICKHOUSE_URL;
const postgresUrl = process.env.TOLLGATE_TEST_DATABASE_URL;
const logger = createLogger('warn');

// Three months of events; the month measured is the middle one.
const SEED_START = '2026-09-01 00:00:00';
const SEED_SECONDS = 91 * 86_400;
const OCTOBER: ReportQuery['range'] = { from: new Date('2026-10-01T00:00:00Z'), to: new Date('2026-11-01T00:00:00Z') };

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const p95 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * 0.95))] ?? Number.NaN;
const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 1 });

/** Server-side durations from ClickHouse's query log, when the bench's client asked for it (log_queries). */
type ServerTimes = (since: Date) => Promise<number[]>;

async function timeReports(
  store: UsageStore,
  label: string,
  latency: boolean,
  runs = 31,
  filter: ReportQuery['filter'] = {},
  serverTimes?: ServerTimes,
): Promise<number> {
  const since = new Date(Math.floor(Date.now() / 1000) * 1000);
  const timings: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const tenantId = `tenant-${(i * 37) % TENANTS}`;
    const started = performance.now();
    const report = await store.report({ tenantIds: [tenantId], range: OCTOBER, groupBy: 'day', filter, latency });
    timings.push(performance.now() - started);
    if ((report.get(tenantId)?.buckets.length ?? 0) !== 31) throw new Error('expected 31 daily buckets');
  }
  const server = serverTimes ? await serverTimes(since) : [];
  const serverText = server.length ? `; server time median ${fmt(median(server))} ms, p95 ${fmt(p95(server))} ms` : '';
  console.log(`  ${label}: median ${fmt(median(timings))} ms, p95 ${fmt(p95(timings))} ms round trip${serverText} (${runs} runs, different tenants)`);
  return median(timings);
}

async function clickhouseBench(): Promise<void> {
  if (!clickhouseUrl) return console.log('ClickHouse: skipped (TOLLGATE_TEST_CLICKHOUSE_URL unset)');
  const database = `tollgate_bench_${randomId(8)}`;
  const admin = createClickhouse(clickhouseUrl);
  await admin.command({ query: `CREATE DATABASE ${database}` });
  const url = new URL(clickhouseUrl);
  url.pathname = `/${database}`;
  // Same client as the gateway's, plus the query log, so the bench can also print server-side times:
  // on a shared 2-core machine the round trip includes however long this process waited for a core.
  const client = createClient({
    url: clickhouseUrl,
    database,
    request_timeout: 600_000,
    application: 'tollgate-bench',
    clickhouse_settings: { log_queries: 1 },
    log: { level: ClickHouseLogLevel.OFF },
  });
  const serverTimes: ServerTimes = async (since) => {
    await client.command({ query: 'SYSTEM FLUSH LOGS' });
    const result = await client.query({
      query: `SELECT query_duration_ms AS ms FROM system.query_log
        WHERE type = 2 AND event_time >= toDateTime(${Math.floor(since.getTime() / 1000)}) AND query LIKE '%FROM usage_%' AND query LIKE '%tenant-%'`,
      format: 'JSONEachRow',
    });
    return ((await result.json()) as { ms: string }[]).map((r) => Number(r.ms));
  };
  const spool = mkdtempSync(join(tmpdir(), 'tollgate-bench-spool-'));
  try {
    await migrateClickhouse(client, clickhouseMigrationsDir);
    const version = ((await (await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' })).json()) as { v: string }[])[0]?.v;
    console.log(`ClickHouse ${version}`);
    const store = new ClickhouseUsageStore(client, { retentionMonths: 18, insertTimeoutMs: 30_000 });

    // Ingestion: the whole path the request side uses (record -> spool with fsync -> batches -> insert).
    const meter = await UsageMeter.open({
      store,
      deadLetters: {
        add: async () => {
          throw new Error('the bench records only valid events; the store refused one');
        },
      },
      spoolDir: spool,
      logger,
      flushIntervalMs: 100,
      batchSize: 20_000,
      maxQueued: 500_000,
      insertTimeoutMs: 30_000,
      closeTimeoutMs: 30_000,
    });
    // Events are built before the clock starts: in the gateway, requests build them; what is timed is
    // record() and everything behind it.
    const total = Math.round(INGEST_SECONDS * 60_000);
    const events = Array.from({ length: total }, (_, i) =>
      newUsageEvent({
        requestId: `ingest-${i}`,
        tenantId: `ingest-tenant-${i % 50}`,
        requestedModel: i % 2 ? 'm-small' : 'm-large',
        kind: 'chat',
        node: 'bench',
        promptTokens: i % 900,
        completionTokens: i % 300,
        latencyMs: 50 + (i % 2000),
        costMicros: i % 5000,
      }),
    );
    const started = performance.now();
    let recorded = 0;
    let peakQueued = 0;
    // Offered at 60,000 events a second, in bursts of 600 every 10 ms.
    while (recorded < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * 60_000) + 600);
      for (; recorded < due; recorded += 1) meter.record(events[recorded]!);
      peakQueued = Math.max(peakQueued, meter.stats().queued);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const offeredSeconds = (performance.now() - started) / 1000;
    await meter.flush();
    const seconds = (performance.now() - started) / 1000;
    await meter.close();
    const stored = ((await (await client.query({ query: "SELECT count() AS n FROM usage_events WHERE startsWith(tenant_id, 'ingest-')", format: 'JSONEachRow' })).json()) as { n: string }[])[0]?.n;
    console.log(
      `  ingestion through the meter: ${fmt(recorded)} events offered in ${fmt(offeredSeconds)} s, all stored after ${fmt(seconds)} s: ` +
        `${fmt(recorded / seconds)} events/s sustained (stored ${stored}, peak in memory ${fmt(peakQueued)})`,
    );
    await client.command({ query: "ALTER TABLE usage_events DELETE WHERE startsWith(tenant_id, 'ingest-')" }).catch(() => {});

    // Seed 10M events with numbers(); the materialized views fill the rollups as they would in production.
    const seedStarted = performance.now();
    await client.command({
      query: `INSERT INTO usage_events (event_id, request_id, ts, ts_ms, tenant_id, user_id, api_key_id, requested_model, served_model, provider, deployment,
          kind, status, error_code, prompt_tokens, completion_tokens, total_tokens, tokens_estimated, ttft_ms, latency_ms, cache_hit, cost_micros, currency, node)
        SELECT concat('bench-', toString(number)), concat('req-', toString(number)),
          toDateTime('${SEED_START}', 'UTC') + (number * 7919) % ${SEED_SECONDS}, number % 1000,
          concat('tenant-', toString(number % ${TENANTS})), concat('user-', toString(number % 7)), concat('key-', toString(number % 3)),
          ['m-small', 'm-large', 'm-euro'][number % 3 + 1], 'served', ['gpu-a', 'gpu-b'][number % 2 + 1], 'gpu-a/x',
          'chat', if(number % 20 = 0, 'error', 'ok'), '', number % 2000, number % 700, number % 2000 + number % 700, 0, 100, 20 + number % 3000, 0,
          (number % 2000 + number % 700) * 3, 'USD', 'bench'
        FROM numbers(${CH_EVENTS})`,
      clickhouse_settings: { max_insert_block_size: '1000000' },
    });
    console.log(`  seeded ${fmt(CH_EVENTS)} events (and their rollups) over ${TENANTS} tenants and 3 months in ${fmt((performance.now() - seedStarted) / 1000)} s`);
    await timeReports(store, "one tenant's month by day, with latency quantiles, rollups not merged yet", true, 15, {}, serverTimes);
    // In production the server merges each table's parts in the background; a month being reported on
    // has long been merged. The seed arrived as ten 1M-row blocks, so merge them now.
    const merged = performance.now();
    for (const table of ['usage_daily', 'usage_daily_latency', 'usage_hourly']) await client.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
    console.log(`  merged the rollups' parts (OPTIMIZE FINAL) in ${fmt((performance.now() - merged) / 1000)} s`);
    await timeReports(store, "one tenant's month by day, with latency quantiles (daily rollups)", true, 31, {}, serverTimes);
    await timeReports(store, "one tenant's month by day, counts and cost only (daily rollup)", false, 31, {}, serverTimes);
    await timeReports(store, "one tenant's month by day, filtered by provider (hourly rollup)", true, 31, { providers: ['gpu-a'] }, serverTimes);
    const started100 = performance.now();
    await store.report({ tenantIds: Array.from({ length: 100 }, (_, i) => `tenant-${i}`), range: OCTOBER, groupBy: null, filter: {}, latency: true });
    console.log(`  100 tenants' monthly totals in one statement: ${fmt(performance.now() - started100)} ms`);
  } finally {
    rmSync(spool, { recursive: true, force: true });
    await client.close();
    await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await admin.close();
  }
}

async function postgresBench(): Promise<void> {
  if (!postgresUrl) return console.log('Postgres: skipped (TOLLGATE_TEST_DATABASE_URL unset)');
  const name = `tollgate_bench_${randomId(8)}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  const handle = await openSqlDatabase({ databaseUrl: url.toString() });
  try {
    await migrateSql(handle.db);
    const { rows } = await sql<{ v: string }>`SELECT current_setting('server_version') AS v`.execute(handle.db);
    console.log(`Postgres ${rows[0]?.v}`);
    const store = new PostgresUsageStore(handle.db, { kind: 'postgres', retentionMonths: 18 });
    // One real insert per month creates the partitions, as the meter's first batch of each month would.
    await store.insert(['2026-09-15', '2026-10-15', '2026-11-15', '2026-12-15'].map((day) => newUsageEvent({ requestId: day, ts: new Date(`${day}T00:00:00Z`), tenantId: 'partition-maker', requestedModel: 'm', kind: 'chat', node: 'bench' })));
    const seedStarted = performance.now();
    await sql`
      INSERT INTO usage_event (event_id, request_id, ts, tenant_id, user_id, api_key_id, requested_model, served_model, provider, deployment,
        kind, prompt_tokens, completion_tokens, total_tokens, tokens_estimated, ttft_ms, latency_ms, status, error_code, cache_hit, cost_micros, currency, node)
      SELECT 'bench-' || n, 'req-' || n, ${`${SEED_START}+00`}::timestamptz + ((n * 7919) % ${SEED_SECONDS}) * interval '1 second' + (n % 1000) * interval '1 millisecond',
        'tenant-' || (n % ${TENANTS}), 'user-' || (n % 7), 'key-' || (n % 3), (ARRAY['m-small', 'm-large', 'm-euro'])[n % 3 + 1], 'served',
        (ARRAY['gpu-a', 'gpu-b'])[n % 2 + 1], 'gpu-a/x', 'chat', n % 2000, n % 700, n % 2000 + n % 700, false, 100, 20 + n % 3000,
        CASE WHEN n % 20 = 0 THEN 'error' ELSE 'ok' END, NULL, false, (n % 2000 + n % 700) * 3, 'USD', 'bench'
      FROM generate_series(1::bigint, ${PG_EVENTS}::bigint) AS n
    `.execute(handle.db);
    // The rollup the store keeps per batch, built here in one pass over the seeded rows.
    await sql`
      INSERT INTO usage_daily (tenant_id, day, model, provider, api_key_id, user_id, status, currency, requests, prompt_tokens, completion_tokens,
        total_tokens, cache_hits, estimated, cost_micros, latency_ms_sum)
      SELECT tenant_id, (ts AT TIME ZONE 'UTC')::date, requested_model, coalesce(provider, ''), coalesce(api_key_id, ''), coalesce(user_id, ''), status, currency,
        count(*), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens), count(*) FILTER (WHERE cache_hit), count(*) FILTER (WHERE tokens_estimated),
        sum(cost_micros), sum(latency_ms)
      FROM usage_event WHERE tenant_id LIKE 'tenant-%' GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
      ON CONFLICT (tenant_id, day, model, provider, api_key_id, user_id, status, currency) DO NOTHING
    `.execute(handle.db);
    await sql`ANALYZE`.execute(handle.db);
    console.log(`  seeded ${fmt(PG_EVENTS)} events and the daily rollup over ${TENANTS} tenants and 3 months in ${fmt((performance.now() - seedStarted) / 1000)} s`);
    await timeReports(store, "one tenant's month by day, counts and cost (daily rollup)", false);
    await timeReports(store, "one tenant's month by day, with latency quantiles (events)", true);
  } finally {
    await handle.db.destroy();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

const load = () => loadavg().map((n) => n.toFixed(1)).join(' ');
console.log(`${cpus().length} cores, load average ${load()} at start (other processes on the machine slow every figure)`);
await clickhouseBench();
await postgresBench();
console.log(`load average ${load()} at the end`);
