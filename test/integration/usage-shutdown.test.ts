import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createClickhouseDatabase } from '../testkit/clickhouse-databases.ts';
import { serviceUrl } from '../testkit/services.ts';
import { sqlDialects } from '../testkit/sql-databases.ts';

// A real process under traffic, stopped by SIGTERM (graceful: everything served is stored) or SIGKILL
// (hard: at most the last group-commit window is lost, the rest is replayed from the spool at start).

const fixture = fileURLToPath(new URL('./fixtures/metered-gateway.ts', import.meta.url));
const clickhouseUrl = serviceUrl('CLICKHOUSE');
const postgres = sqlDialects().find((d) => d.name === 'postgres');

interface Tally {
  requests: number;
  tokens: number;
}

interface Running {
  child: ChildProcess;
  /** Resolves with the first line of this kind. */
  line(kind: string): Promise<Tally>;
  last(kind: string): Tally | undefined;
  exited: Promise<number | null>;
}

function run(env: Record<string, string>): Running {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', fixture], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: [string, Tally][] = [];
  const waiters: { kind: string; resolve: (t: Tally) => void }[] = [];
  let buffer = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let newline: number;
    while ((newline = buffer.indexOf('\n')) !== -1) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      const space = line.indexOf(' ');
      const kind = line.slice(0, space);
      const tally = JSON.parse(line.slice(space + 1)) as Tally;
      lines.push([kind, tally]);
      for (const waiter of waiters.filter((w) => w.kind === kind)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(tally);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal !== 'SIGKILL') process.stderr.write(`gateway exited with ${code ?? signal}:\n${stderr}\n`);
      resolve(code);
    }),
  );
  void exited.then(() => {
    for (const waiter of waiters.splice(0)) waiter.resolve({ requests: -1, tokens: -1 });
  });
  return {
    child,
    exited,
    line: (kind) => {
      const found = lines.find(([k]) => k === kind);
      return found ? Promise.resolve(found[1]) : new Promise((resolve) => waiters.push({ kind, resolve }));
    },
    last: (kind) => lines.filter(([k]) => k === kind).at(-1)?.[1],
  };
}

const waitUntilServed = async (process: Running, requests: number) => {
  while ((process.last('SERVED')?.requests ?? 0) < requests) {
    if (process.child.exitCode !== null) throw new Error(`the gateway exited with ${process.child.exitCode} before serving ${requests} requests`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-shutdown-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe.skipIf(!clickhouseUrl)('shutdown mid-traffic with usage in ClickHouse', () => {
  async function storedIn(database: Awaited<ReturnType<typeof createClickhouseDatabase>>, tenantId: string) {
    const result = await database.client.query({
      query: `SELECT count() AS n, uniqExact(event_id) AS ids, sum(total_tokens) AS tokens FROM usage_events WHERE tenant_id = '${tenantId}'`,
      format: 'JSONEachRow',
    });
    const [row] = (await result.json()) as { n: string; ids: string; tokens: string }[];
    return { requests: Number(row!.n), ids: Number(row!.ids), tokens: Number(row!.tokens) };
  }

  it('SIGTERM: every request served before it is stored once, with the tokens the clients got', { timeout: 60_000 }, async () => {
    const database = await createClickhouseDatabase(clickhouseUrl as string);
    cleanups.push(database.dispose);
    const gateway = run({ FIXTURE_DATA_DIR: dataDir(), FIXTURE_CLICKHOUSE_URL: database.url, FIXTURE_TRAFFIC_MS: '1', FIXTURE_TENANT: 't-term' });
    cleanups.push(() => void gateway.child.kill('SIGKILL'));
    await waitUntilServed(gateway, 3_000);
    gateway.child.kill('SIGTERM');
    const served = await gateway.line('FINAL');
    expect(await gateway.exited).toBe(0);
    expect(await storedIn(database, 't-term')).toEqual({ requests: served.requests, ids: served.requests, tokens: served.tokens });
  });

  it('SIGKILL: a restart replays the spool; at most the last group-commit window is lost, nothing doubled', { timeout: 90_000 }, async () => {
    const database = await createClickhouseDatabase(clickhouseUrl as string);
    cleanups.push(database.dispose);
    const dir = dataDir();
    const first = run({ FIXTURE_DATA_DIR: dir, FIXTURE_CLICKHOUSE_URL: database.url, FIXTURE_TRAFFIC_MS: '1', FIXTURE_TENANT: 't-kill', FIXTURE_FLUSH_MS: '100' });
    cleanups.push(() => void first.child.kill('SIGKILL'));
    await waitUntilServed(first, 4_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const served = first.last('SERVED')!;

    const second = run({ FIXTURE_DATA_DIR: dir, FIXTURE_CLICKHOUSE_URL: database.url, FIXTURE_TENANT: 't-kill' });
    cleanups.push(() => void second.child.kill('SIGKILL'));
    await second.line('READY');
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const stored = await storedIn(database, 't-kill');
    expect(stored.ids).toBe(stored.requests);
    expect(stored.requests).toBeLessThanOrEqual(served.requests + 20);
    // About 2,000 requests a second: one 100 ms window (plus its fsync) is a few hundred at most.
    expect(served.requests - stored.requests).toBeLessThan(600);
  });
});

describe.skipIf(!postgres)('shutdown mid-traffic with usage in Postgres', () => {
  it('SIGTERM: every request served before it is stored once, daily rollup included', { timeout: 60_000 }, async () => {
    const database = await postgres!.create();
    cleanups.push(database.dispose);
    const gateway = run({ FIXTURE_DATA_DIR: dataDir(), FIXTURE_DATABASE_URL: database.databaseUrl as string, FIXTURE_TRAFFIC_MS: '1', FIXTURE_TENANT: 't-pg-term' });
    cleanups.push(() => void gateway.child.kill('SIGKILL'));
    await waitUntilServed(gateway, 3_000);
    gateway.child.kill('SIGTERM');
    const served = await gateway.line('FINAL');
    expect(await gateway.exited).toBe(0);
    const client = new pg.Client({ connectionString: database.databaseUrl });
    await client.connect();
    try {
      const events = await client.query(`SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS ids, sum(total_tokens)::int AS tokens FROM usage_event WHERE tenant_id = 't-pg-term'`);
      const daily = await client.query(`SELECT sum(requests)::int AS n, sum(total_tokens)::int AS tokens FROM usage_daily WHERE tenant_id = 't-pg-term'`);
      expect(events.rows[0]).toEqual({ n: served.requests, ids: served.requests, tokens: served.tokens });
      expect(daily.rows[0]).toEqual({ n: served.requests, tokens: served.tokens });
    } finally {
      await client.end();
    }
  });
});
