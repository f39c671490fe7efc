import { fileURLToPath } from 'node:url';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { replicatedStatements, createdTable, type ClickhouseCluster } from './cluster-ddl.ts';
import { identifier, literal } from './escape.ts';

// ClickHouse has no transactional DDL: a crash between applying a file and recording its id runs the
// file again on the next start, so migrations use IF NOT EXISTS / IF EXISTS and stay re-runnable.

const MIGRATION_FILE = /^(\d{4})_[A-Za-z0-9_-]+\.sql$/;

export interface ClickhouseMigration {
  id: string;
  path: string;
}

/** The numbered `NNNN_name.sql` files in `dir`, in order; any other `.sql` name is an error. */
export async function listClickhouseMigrations(dir: string): Promise<ClickhouseMigration[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  const seen = new Map<string, string>();
  return names.map((name) => {
    const number = MIGRATION_FILE.exec(name)?.[1];
    if (number === undefined) {
      throw new Error(`ClickHouse migration "${name}" in ${dir} is not named NNNN_name.sql`);
    }
    const clash = seen.get(number);
    if (clash !== undefined) {
      throw new Error(`ClickHouse migrations "${clash}" and "${name}" share the number ${number}`);
    }
    seen.set(number, name);
    return { id: name.slice(0, -'.sql'.length), path: join(dir, name) };
  });
}

/**
 * Splits a file into statements on `;`, ignoring semicolons inside quoted strings, quoted identifiers
 * and comments. Comments are dropped, so no statement ends inside one.
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current = '';
  let i = 0;
  const finish = () => {
    const statement = current.trim();
    if (statement !== '') {
      statements.push(statement);
    }
    current = '';
  };
  while (i < sql.length) {
    const ch = sql[i] as string;
    const next = sql[i + 1];
    if (ch === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end;
    } else if (ch === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end === -1) {
        throw new Error('unterminated /* comment');
      }
      current += ' ';
      i = end + 2;
    } else if (ch === "'" || ch === '"' || ch === '`') {
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) {
          throw new Error(`unterminated ${ch} quote starting at offset ${i}`);
        }
        if (sql[j] === '\\') {
          j += 2;
        } else if (sql[j] === ch && sql[j + 1] === ch) {
          j += 2;
        } else if (sql[j] === ch) {
          break;
        } else {
          j += 1;
        }
      }
      current += sql.slice(i, j + 1);
      i = j + 1;
    } else if (ch === ';') {
      finish();
      i += 1;
    } else {
      current += ch;
      i += 1;
    }
  }
  finish();
  return statements;
}

/**
 * ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS: a column that a crashed run of the same file added
 * already is taken as added, so such a file stays re-runnable.
 */
function columnAddedBefore(statement: string, error: unknown): boolean {
  return /^ALTER TABLE\s+\S+\s+ADD COLUMN\s/i.test(statement) && /column with this name already exists/i.test((error as Error).message);
}

async function appliedIds(client: ClickHouseClient): Promise<Set<string>> {
  const result = await client.query({ query: 'SELECT DISTINCT id FROM schema_migrations', format: 'JSONEachRow' });
  const rows = await result.json<{ id: string }>();
  return new Set(rows.map((row) => row.id));
}

/**
 * Applies the numbered `.sql` files in `dir` that `schema_migrations` does not list yet, in order,
 * recording each id once its statements have run. Returns the ids applied by this call.
 */
/** The numbered .sql files shipped with the gateway. */
export const clickhouseMigrationsDir = fileURLToPath(new URL('../../clickhouse', import.meta.url));

export async function migrateClickhouse(
  client: ClickHouseClient,
  dir: string,
  log: (msg: string) => void = () => {},
  cluster?: ClickhouseCluster,
): Promise<string[]> {
  // On a cluster the record is replicated too, so a gateway on any server sees what was applied.
  await client.command({
    query: cluster
      ? `CREATE TABLE IF NOT EXISTS ${identifier(cluster.database)}.schema_migrations ON CLUSTER ${identifier(cluster.name)} (id String, applied_at DateTime) ENGINE = ReplicatedMergeTree(${literal(`/clickhouse/tables/{shard}/${cluster.database}/schema_migrations`)}, '{replica}') ORDER BY id`
      : 'CREATE TABLE IF NOT EXISTS schema_migrations (id String, applied_at DateTime) ENGINE = MergeTree ORDER BY id',
  });
  const migrations = await listClickhouseMigrations(dir);
  // Tables every migration so far created: a view over one of them reads its local twin on a cluster.
  const tables = new Map<string, string>();
  const applied = await appliedIds(client);
  const appliedNow: string[] = [];
  for (const migration of migrations) {
    let statements: string[];
    try {
      statements = splitStatements(await readFile(migration.path, 'utf8'));
      for (const statement of statements) {
        const table = createdTable(statement);
        if (table) tables.set(table.name, table.sharding);
      }
      if (applied.has(migration.id)) continue;
      if (cluster) statements = statements.flatMap((statement) => replicatedStatements(statement, cluster, tables));
    } catch (error) {
      throw new Error(`ClickHouse migration ${migration.id}: ${(error as Error).message}`, { cause: error });
    }
    if (statements.length === 0) {
      throw new Error(`ClickHouse migration ${migration.id} has no statements`);
    }
    log(`clickhouse: applying ${migration.id}`);
    for (const [index, statement] of statements.entries()) {
      try {
        await client.command({ query: statement });
      } catch (error) {
        if (columnAddedBefore(statement, error)) continue;
        throw new Error(
          `ClickHouse migration ${migration.id} failed at statement ${index + 1} of ${statements.length}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
    await client.command({
      query: `INSERT INTO schema_migrations (id, applied_at) SELECT ${literal(migration.id)}, now()`,
    });
    appliedNow.push(migration.id);
  }
  return appliedNow;
}
