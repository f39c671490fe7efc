import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceUrl } from '../../test/testkit/services.ts';
import { createClickhouse, databaseFromUrl, type ClickHouseClient } from './client.ts';
import { identifier, literal } from './escape.ts';
import { listClickhouseMigrations, migrateClickhouse, splitStatements } from './migrate.ts';

const clickhouseUrl = serviceUrl('CLICKHOUSE');
const MIGRATIONS_DIR = fileURLToPath(new URL('../../clickhouse/', import.meta.url));

async function withTempDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-ch-migrations-'));
  await Promise.all(Object.entries(files).map(([name, sql]) => writeFile(join(dir, name), sql)));
  return dir;
}

describe('splitStatements', () => {
  it('splits on semicolons and drops empty statements and comments', () => {
    const sql = `
      -- leading comment; with a semicolon
      CREATE TABLE a (x UInt8) ENGINE = Memory;
      /* block; comment */
      CREATE TABLE b (x UInt8) ENGINE = Memory; ;
      -- trailing comment`;
    expect(splitStatements(sql)).toEqual([
      'CREATE TABLE a (x UInt8) ENGINE = Memory',
      'CREATE TABLE b (x UInt8) ENGINE = Memory',
    ]);
  });

  it('keeps semicolons and comment markers inside strings and quoted identifiers', () => {
    const sql = `SELECT 'a;b', 'it\\'s; -- x', 'dou''bled;', "col;1", \`col;2\`, '/* no */';SELECT 2`;
    expect(splitStatements(sql)).toEqual([
      `SELECT 'a;b', 'it\\'s; -- x', 'dou''bled;', "col;1", \`col;2\`, '/* no */'`,
      'SELECT 2',
    ]);
  });

  it('keeps a trailing backslash-escaped backslash from swallowing the closing quote', () => {
    expect(splitStatements(`SELECT 'x\\\\';SELECT 'y'`)).toEqual([`SELECT 'x\\\\'`, `SELECT 'y'`]);
  });

  it('refuses unterminated quotes and comments', () => {
    expect(() => splitStatements(`SELECT 'oops; SELECT 1`)).toThrow(/unterminated ' quote/);
    expect(() => splitStatements('SELECT 1 /* oops')).toThrow(/unterminated/);
  });

  it('splits statements that contain the output of literal()', () => {
    const value = "'; DROP TABLE x; -- \\ /* */";
    expect(splitStatements(`SELECT ${literal(value)}; SELECT 1`)).toEqual([`SELECT ${literal(value)}`, 'SELECT 1']);
  });
});

describe('listClickhouseMigrations', () => {
  it('lists numbered files in order and ignores non-SQL files', async () => {
    const dir = await withTempDir({ '0002_b.sql': '', '0001_a.sql': '', '0010_c.sql': '', 'README.md': '' });
    try {
      expect((await listClickhouseMigrations(dir)).map((m) => m.id)).toEqual(['0001_a', '0002_b', '0010_c']);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('refuses badly named files and duplicate numbers', async () => {
    const badName = await withTempDir({ '0001_a.sql': '', '2_b.sql': '' });
    const duplicate = await withTempDir({ '0001_a.sql': '', '0001_b.sql': '' });
    try {
      await expect(listClickhouseMigrations(badName)).rejects.toThrow(/"2_b.sql" .* not named NNNN_name.sql/);
      await expect(listClickhouseMigrations(duplicate)).rejects.toThrow(/share the number 0001/);
    } finally {
      await rm(badName, { recursive: true });
      await rm(duplicate, { recursive: true });
    }
  });

  it('finds the repository migrations, starting with usage_events', async () => {
    const ids = (await listClickhouseMigrations(MIGRATIONS_DIR)).map((m) => m.id);
    expect(ids[0]).toBe('0001_usage_events');
  });
});

describe('databaseFromUrl', () => {
  it('reads the database from the URL path', () => {
    expect(databaseFromUrl('http://127.0.0.1:8123')).toBe('default');
    expect(databaseFromUrl('http://127.0.0.1:8123/')).toBe('default');
    expect(databaseFromUrl('http://u:p@127.0.0.1:8123/usage?ch_x=1')).toBe('usage');
  });
});

describe.skipIf(!clickhouseUrl)('migrateClickhouse against a real server', () => {
  const runId = randomBytes(4).toString('hex');
  const databases: string[] = [];
  const clients: ClickHouseClient[] = [];
  let admin: ClickHouseClient;

  // A fresh database per test file run, dropped afterwards, so runs and parallel files never collide.
  async function freshDatabase(suffix: string): Promise<{ client: ClickHouseClient; database: string }> {
    const name = identifier(`tollgate_test_${runId}_${suffix}`);
    await admin.command({ query: `CREATE DATABASE ${name}` });
    databases.push(name);
    const url = new URL(clickhouseUrl as string);
    url.pathname = `/${name}`;
    const client = createClickhouse(url.toString());
    clients.push(client);
    return { client, database: name };
  }

  async function rows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
    const result = await client.query({ query, format: 'JSONEachRow' });
    return result.json<T>();
  }

  beforeAll(() => {
    admin = createClickhouse(clickhouseUrl as string);
  });

  afterAll(async () => {
    for (const client of clients) {
      await client.close();
    }
    for (const name of databases) {
      await admin.command({ query: `DROP DATABASE IF EXISTS ${name}` });
    }
    await admin?.close();
  });

  it('applies every repository migration once, creating usage_events with the expected schema', async () => {
    const { client, database } = await freshDatabase('repo');
    const expectedIds = (await listClickhouseMigrations(MIGRATIONS_DIR)).map((m) => m.id);
    const logged: string[] = [];

    expect(await migrateClickhouse(client, MIGRATIONS_DIR, (msg) => logged.push(msg))).toEqual(expectedIds);
    expect(logged).toEqual(expectedIds.map((id) => `clickhouse: applying ${id}`));
    expect(await migrateClickhouse(client, MIGRATIONS_DIR)).toEqual([]);

    const recorded = await rows<{ id: string }>(client, 'SELECT id FROM schema_migrations ORDER BY id');
    expect(recorded.map((r) => r.id)).toEqual(expectedIds);

    const columns = await rows<{ name: string; type: string }>(
      client,
      `SELECT name, type FROM system.columns WHERE database = ${literal(database)} AND table = 'usage_events'`,
    );
    expect(Object.fromEntries(columns.map((c) => [c.name, c.type]))).toEqual({
      event_id: 'String',
      request_id: 'String',
      ts: "DateTime('UTC')",
      ts_ms: 'UInt16',
      tenant_id: 'String',
      user_id: 'String',
      api_key_id: 'String',
      requested_model: 'String',
      served_model: 'String',
      provider: 'String',
      deployment: 'String',
      kind: 'String',
      status: 'String',
      error_code: 'String',
      prompt_tokens: 'UInt32',
      completion_tokens: 'UInt32',
      total_tokens: 'UInt32',
      tokens_estimated: 'UInt8',
      cached_tokens: 'UInt32',
      reasoning_tokens: 'UInt32',
      ttft_ms: 'UInt32',
      latency_ms: 'UInt32',
      cache_hit: 'UInt8',
      cost_micros: 'Int64',
      currency: 'String',
      node: 'String',
      route: 'String',
      route_rule: 'String',
      experiment_id: 'String',
      variant: 'String',
      template_name: 'String',
      template_version: 'UInt32',
    });

    const [table] = await rows<{ engine: string; partition_key: string; sorting_key: string }>(
      client,
      `SELECT engine, partition_key, sorting_key FROM system.tables WHERE database = ${literal(database)} AND name = 'usage_events'`,
    );
    expect(table?.engine).toBe('MergeTree');
    expect(table?.partition_key).toBe('toYYYYMM(ts)');
    expect(table?.sorting_key.replace(/\s/g, '')).toBe('tenant_id,ts,event_id');
  });

  it('stores and reads back a usage event written as JSONEachRow, times in UTC', async () => {
    const { client } = await freshDatabase('event');
    await migrateClickhouse(client, MIGRATIONS_DIR);
    const event = {
      event_id: '0b6a7f8e-3c2d-4f5e-9a1b-2c3d4e5f6a7b',
      request_id: 'req-1',
      ts: '2026-11-22 10:11:12',
      ts_ms: 345,
      tenant_id: 'tenant-a',
      user_id: 'user-1',
      api_key_id: 'key-1',
      requested_model: 'qwen2.5-coder-7b',
      served_model: 'Qwen/Qwen2.5-Coder-7B-Instruct',
      provider: 'gpu-a',
      deployment: 'gpu-a/Qwen/Qwen2.5-Coder-7B-Instruct',
      kind: 'chat',
      status: 'ok',
      error_code: '',
      prompt_tokens: 12,
      completion_tokens: 30,
      total_tokens: 42,
      tokens_estimated: 0,
      cached_tokens: 4,
      reasoning_tokens: 9,
      ttft_ms: 120,
      latency_ms: 900,
      cache_hit: 0,
      cost_micros: '126',
      currency: 'USD',
      node: 'node-1',
      route: 'auto',
      route_rule: 'default',
      experiment_id: '',
      variant: '',
      template_name: 'sql-assist',
      template_version: 3,
    };
    await client.insert({ table: 'usage_events', values: [event], format: 'JSONEachRow' });
    const stored = await rows<Record<string, unknown>>(
      client,
      `SELECT *, toUnixTimestamp(ts) AS unix FROM usage_events WHERE tenant_id = ${literal('tenant-a')}`,
    );
    expect(stored).toEqual([{ ...event, unix: Date.UTC(2026, 10, 22, 10, 11, 12) / 1000 }]);
  });

  it('applies multi-statement files in order, then only new files', async () => {
    const { client } = await freshDatabase('custom');
    const dir = await withTempDir({
      '0001_first.sql': `
        CREATE TABLE IF NOT EXISTS notes (id UInt32, body String) ENGINE = MergeTree ORDER BY id;
        -- a value with a semicolon and a quote must not split the statement
        INSERT INTO notes (id, body) VALUES (1, 'one; it\\'s fine');
      `,
      '0002_second.sql': `INSERT INTO notes (id, body) VALUES (2, 'two')`,
    });
    try {
      expect(await migrateClickhouse(client, dir)).toEqual(['0001_first', '0002_second']);
      await writeFile(join(dir, '0003_third.sql'), `INSERT INTO notes (id, body) VALUES (3, 'three');`);
      expect(await migrateClickhouse(client, dir)).toEqual(['0003_third']);
      expect(await migrateClickhouse(client, dir)).toEqual([]);
      const notes = await rows<{ id: number; body: string }>(client, 'SELECT id, body FROM notes ORDER BY id');
      expect(notes).toEqual([
        { id: 1, body: "one; it's fine" },
        { id: 2, body: 'two' },
        { id: 3, body: 'three' },
      ]);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('runs a file again after a crash between its ADD COLUMN and its record', async () => {
    const { client } = await freshDatabase('rerun');
    const dir = await withTempDir({
      '0001_table.sql': 'CREATE TABLE IF NOT EXISTS t (id UInt32) ENGINE = MergeTree ORDER BY id',
      '0002_columns.sql': 'ALTER TABLE t ADD COLUMN a UInt32 DEFAULT 0; ALTER TABLE t ADD COLUMN b UInt32 DEFAULT 0',
    });
    try {
      expect(await migrateClickhouse(client, dir)).toEqual(['0001_table', '0002_columns']);
      // As if the instance had stopped before recording 0002.
      await client.command({ query: "ALTER TABLE schema_migrations DELETE WHERE id = '0002_columns'" });
      await expect.poll(async () => (await rows<{ id: string }>(client, 'SELECT id FROM schema_migrations')).length).toBe(1);
      expect(await migrateClickhouse(client, dir)).toEqual(['0002_columns']);
      const columns = await rows<{ name: string }>(client, "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = 't'");
      expect(columns.map((c) => c.name)).toEqual(['id', 'a', 'b']);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('stops at a failing migration, names it, and does not record it', async () => {
    const { client } = await freshDatabase('failing');
    const dir = await withTempDir({
      '0001_ok.sql': 'CREATE TABLE IF NOT EXISTS ok (id UInt32) ENGINE = MergeTree ORDER BY id',
      '0002_broken.sql': 'CREATE TABLE IF NOT EXISTS broken (id UInt32) ENGINE = MergeTree ORDER BY id; CREATE TABLEX nope',
      '0003_later.sql': 'CREATE TABLE IF NOT EXISTS later (id UInt32) ENGINE = MergeTree ORDER BY id',
    });
    try {
      await expect(migrateClickhouse(client, dir)).rejects.toThrow(/0002_broken failed at statement 2 of 2/);
      const recorded = await rows<{ id: string }>(client, 'SELECT id FROM schema_migrations ORDER BY id');
      expect(recorded.map((r) => r.id)).toEqual(['0001_ok']);
      await writeFile(join(dir, '0002_broken.sql'), 'CREATE TABLE IF NOT EXISTS broken (id UInt32) ENGINE = MergeTree ORDER BY id');
      expect(await migrateClickhouse(client, dir)).toEqual(['0002_broken', '0003_later']);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
