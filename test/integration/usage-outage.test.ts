import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { newUsageEvent } from '../../src/modules/usage/usage-event.ts';
import type { UsageMeter } from '../../src/modules/usage/usage-meter.ts';
import { startTestApp, type TestApp } from '../testkit/app.ts';
import { createClickhouseDatabase, type TestClickhouseDatabase } from '../testkit/clickhouse-databases.ts';
import { serviceUrl } from '../testkit/services.ts';
import { sqlDialects } from '../testkit/sql-databases.ts';
import { startTcpProxy, type TcpProxy } from '../testkit/tcp-proxy.ts';

// The store goes away in the middle of traffic and comes back: the gateway keeps recording, and in the
// end the store holds exactly one event per request served and the tokens the clients were given.
// Outages are made with a proxy in front of the shared servers, never by stopping them.

const clickhouseUrl = serviceUrl('CLICKHOUSE');
const postgres = sqlDialects().find((d) => d.name === 'postgres');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Traffic {
  stop(): Promise<{ requests: number; tokens: number; ids: Set<string> }>;
}

/** Records events steadily (about 2,000 a second) as finished requests would, tallying what "clients" got. */
function startTraffic(meter: UsageMeter, tenantId: string): Traffic {
  let requests = 0;
  let tokens = 0;
  const ids = new Set<string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      for (let i = 0; i < 20; i += 1) {
        const promptTokens = 1 + ((requests * 7) % 50);
        const completionTokens = (requests * 3) % 40;
        const event = newUsageEvent({ requestId: `req-${requests}`, tenantId, requestedModel: 'm', kind: 'chat', node: 'n', promptTokens, completionTokens, latencyMs: 5 });
        meter.record(event);
        ids.add(event.eventId);
        requests += 1;
        tokens += promptTokens + completionTokens;
      }
      await sleep(10);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { requests, tokens, ids };
    },
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

describe.skipIf(!clickhouseUrl)('usage through a ClickHouse outage', () => {
  async function setup(): Promise<{ gateway: TestApp; proxy: TcpProxy; database: TestClickhouseDatabase }> {
    const database = await createClickhouseDatabase(clickhouseUrl as string);
    cleanups.push(database.dispose);
    const server = new URL(clickhouseUrl as string);
    const proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 8123) });
    cleanups.push(proxy.close);
    const gateway = await startTestApp({
      clickhouseUrl: proxy.url(database.url),
      config: { usage: { flushIntervalMs: 50, batchSize: 500, insertTimeoutMs: 1_000, closeTimeoutMs: 5_000 } },
    });
    cleanups.push(gateway.stop);
    return { gateway, proxy, database };
  }

  async function stored(database: TestClickhouseDatabase, tenantId: string) {
    const query = async (sql: string) => ((await (await database.client.query({ query: sql, format: 'JSONEachRow' })).json()) as Record<string, string>[])[0]!;
    const events = await query(`SELECT count() AS n, uniqExact(event_id) AS ids, sum(total_tokens) AS tokens FROM usage_events WHERE tenant_id = '${tenantId}'`);
    const daily = await query(`SELECT sum(requests) AS n, sum(total_tokens_sum) AS tokens FROM usage_daily WHERE tenant_id = '${tenantId}'`);
    const hourly = await query(`SELECT sum(requests) AS n, sum(total_tokens_sum) AS tokens FROM usage_hourly WHERE tenant_id = '${tenantId}'`);
    return { requests: Number(events.n), ids: Number(events.ids), tokens: Number(events.tokens), daily: [Number(daily.n), Number(daily.tokens)], hourly: [Number(hourly.n), Number(hourly.tokens)] };
  }

  it('keeps recording while ClickHouse refuses connections, then stores every event exactly once', async () => {
    const { gateway, proxy, database } = await setup();
    const meter = gateway.app.deps.usageMeter;
    const traffic = startTraffic(meter, 't-refused');
    await sleep(700);
    proxy.setMode('refuse');
    await sleep(1_500);
    expect(meter.stats().consecutiveFailures).toBeGreaterThan(0);
    expect(meter.stats().spooled).toBeGreaterThan(0);
    // The gateway itself keeps answering.
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    proxy.setMode('pass');
    await sleep(700);
    const sent = await traffic.stop();
    await meter.flush({ timeoutMs: 30_000 });
    const result = await stored(database, 't-refused');
    expect(result).toEqual({ requests: sent.requests, ids: sent.requests, tokens: sent.tokens, daily: [sent.requests, sent.tokens], hourly: [sent.requests, sent.tokens] });
  });

  it('does not double a batch whose insert reached ClickHouse but whose answer was lost', async () => {
    const { gateway, proxy, database } = await setup();
    const meter = gateway.app.deps.usageMeter;
    const traffic = startTraffic(meter, 't-blackhole');
    await sleep(500);
    // Requests still reach the server, which stores the rows; the answers never come back.
    proxy.setMode('blackhole');
    await sleep(2_500);
    proxy.cutAll();
    proxy.setMode('pass');
    await sleep(500);
    const sent = await traffic.stop();
    await meter.flush({ timeoutMs: 30_000 });
    expect(meter.stats().duplicatesSkipped).toBeGreaterThan(0);
    const result = await stored(database, 't-blackhole');
    expect(result).toEqual({ requests: sent.requests, ids: sent.requests, tokens: sent.tokens, daily: [sent.requests, sent.tokens], hourly: [sent.requests, sent.tokens] });
  });
});

describe.skipIf(!postgres)('usage through a Postgres outage', () => {
  it('keeps recording while Postgres is unreachable, then stores every event exactly once with its rollup', async () => {
    const database = await postgres!.create();
    cleanups.push(database.dispose);
    const server = new URL(database.databaseUrl as string);
    const proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
    cleanups.push(proxy.close);
    const gateway = await startTestApp({
      databaseUrl: proxy.url(database.databaseUrl as string),
      config: { usage: { flushIntervalMs: 50, batchSize: 500, insertTimeoutMs: 1_000, closeTimeoutMs: 5_000 } },
    });
    cleanups.push(gateway.stop);
    const meter = gateway.app.deps.usageMeter;
    const traffic = startTraffic(meter, 't-pg');
    await sleep(700);
    proxy.setMode('refuse');
    await sleep(1_500);
    expect(meter.stats().consecutiveFailures).toBeGreaterThan(0);
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    proxy.setMode('pass');
    await sleep(700);
    const sent = await traffic.stop();
    await meter.flush({ timeoutMs: 30_000 });

    const client = new pg.Client({ connectionString: database.databaseUrl });
    await client.connect();
    try {
      const events = await client.query(`SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS ids, sum(total_tokens)::int AS tokens FROM usage_event WHERE tenant_id = 't-pg'`);
      const daily = await client.query(`SELECT sum(requests)::int AS n, sum(total_tokens)::int AS tokens FROM usage_daily WHERE tenant_id = 't-pg'`);
      expect(events.rows[0]).toEqual({ n: sent.requests, ids: sent.requests, tokens: sent.tokens });
      expect(daily.rows[0]).toEqual({ n: sent.requests, tokens: sent.tokens });
    } finally {
      await client.end();
    }
  });
});
