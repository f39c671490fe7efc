import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testkit/app.ts';
import { serviceUrl } from '../testkit/services.ts';
import { sqlDialects, type TestSqlDatabase } from '../testkit/sql-databases.ts';

const redisUrl = serviceUrl('REDIS');
const clickhouseUrl = serviceUrl('CLICKHOUSE');
const postgres = sqlDialects().find((d) => d.name === 'postgres');

describe.skipIf(!redisUrl || !clickhouseUrl || !postgres)('gateway on Postgres, Redis and ClickHouse', () => {
  let database: TestSqlDatabase;
  let gateway: TestApp;

  beforeAll(async () => {
    database = await postgres!.create();
    gateway = await startTestApp({ databaseUrl: database.databaseUrl, redisUrl, clickhouseUrl });
  });
  afterAll(async () => {
    await gateway?.stop();
    await database?.dispose();
  });

  it('is ready when every dependency answers, and lists each', async () => {
    const response = await fetch(`${gateway.url}/readyz`);
    const body = (await response.json()) as { checks: { name: string; ok: boolean }[] };
    expect(response.status).toBe(200);
    expect(body.checks.map((c) => [c.name, c.ok])).toEqual([
      ['postgres', true],
      ['redis', true],
      ['clickhouse', true],
    ]);
  });

  it('applied the ClickHouse migrations at start-up', async () => {
    const result = await gateway.app.deps.clickhouse!.query({ query: "SELECT count() AS n FROM system.tables WHERE name = 'usage_events'", format: 'JSONEachRow' });
    const rows = (await result.json()) as { n: string }[];
    expect(Number(rows[0]?.n)).toBeGreaterThanOrEqual(1);
  });

  it('answers 503 naming the dependency that fails', async () => {
    gateway.app.deps.redis!.disconnect();
    const response = await fetch(`${gateway.url}/readyz`);
    const body = (await response.json()) as { failing: string[] };
    expect(response.status).toBe(503);
    expect(body.failing).toEqual(['redis']);
  });
});
