import { parseArgs } from 'node:util';
import { createClickhouse } from '../clickhouse/client.ts';
import type { Config } from '../config.ts';
import { ClickhouseUsageStore } from '../modules/usage/index.ts';
import { PostgresUsageStore } from '../modules/usage/index.ts';
import { UsageDeadLetters, type DeadLetter } from '../modules/usage/index.ts';
import type { UsageStore } from '../modules/usage/index.ts';
import { openSqlDatabase, type SqlDatabaseHandle } from '../storage/sql-database.ts';
import { migrateSql } from '../storage/sql-migrations.ts';

// Dead letters: usage events a store refused (docs/metering.md, "Dead letters").

const help = `Usage: tollgate usage dead-letters list [--all] [--json]
       tollgate usage dead-letters replay [--id EVENT_ID ...]

  list     print the usage events a store refused, oldest first: event id, tenant, when,
           how many times refused, requested model (escaped) and the store's error.
           --all also prints those already replayed; --json prints one JSON object a line.
  replay   insert the dead letters again into the usage store (CLICKHOUSE_URL, else the SQL
           database), after the cause is fixed; --id (repeatable) replays only those events.
           The store skips an event it already holds, so replaying twice stores it once.
           Exits 1 if the store refused some again (they stay listed with the new error)
           or an --id names no dead letter waiting for a replay.

Works on DATABASE_URL or the embedded database (stop the gateway first when embedded),
applying pending migrations first.
`;

export const usageCommandHelp: Record<string, string> = {
  usage: help,
  'usage dead-letters': help,
};

export async function runUsageCommand(args: string[], loadConfig: () => Config): Promise<number> {
  const [group, sub, ...rest] = args;
  if (group !== 'dead-letters' || (sub !== 'list' && sub !== 'replay')) {
    process.stderr.write(`tollgate: unknown usage command "${args.join(' ')}"\n\n${help}`);
    return 2;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: sub === 'list' ? { all: { type: 'boolean' }, json: { type: 'boolean' } } : { id: { type: 'string', multiple: true } },
    }));
  } catch (error) {
    process.stderr.write(`tollgate: ${(error as Error).message}\n\n${help}`);
    return 2;
  }
  const config = loadConfig();
  const database = await openSqlDatabase({ databaseUrl: config.storage.databaseUrl, dataDir: config.storage.dataDir });
  try {
    await migrateSql(database.db);
    const deadLetters = new UsageDeadLetters(database.db);
    if (sub === 'list') {
      const letters = await deadLetters.list({ all: values.all === true });
      for (const letter of letters) process.stdout.write(`${values.json === true ? JSON.stringify(letterJson(letter)) : describe(letter)}\n`);
      if (values.json !== true) process.stdout.write(`${letters.length} dead letter(s)${values.all === true ? '' : ' waiting for a replay'}\n`);
      return 0;
    }
    return await replay(deadLetters, database, config, (values.id as string[] | undefined) ?? []);
  } finally {
    await database.db.destroy();
  }
}

async function replay(deadLetters: UsageDeadLetters, database: SqlDatabaseHandle, config: Config, eventIds: string[]): Promise<number> {
  const clickhouse = config.storage.clickhouseUrl ? createClickhouse(config.storage.clickhouseUrl) : undefined;
  try {
    const store: UsageStore = clickhouse
      ? new ClickhouseUsageStore(clickhouse, { retentionMonths: config.usage.retentionMonths, insertTimeoutMs: config.usage.insertTimeoutMs, cluster: config.storage.clickhouseCluster })
      : new PostgresUsageStore(database.db, { kind: database.kind, retentionMonths: config.usage.retentionMonths });
    const result = await deadLetters.replay(store, { eventIds });
    process.stdout.write(`replayed ${result.replayed.length} dead letter(s) into ${store.kind}\n`);
    for (const failure of result.failed) process.stderr.write(`tollgate: ${failure.eventId} refused again: ${failure.error}\n`);
    for (const id of result.missing) process.stderr.write(`tollgate: no dead letter "${id}" waits for a replay\n`);
    return result.failed.length > 0 || result.missing.length > 0 ? 1 : 0;
  } finally {
    await clickhouse?.close();
  }
}

function letterJson(letter: DeadLetter) {
  return { ...letter, event: { ...letter.event, ts: letter.event.ts.toISOString() } };
}

function describe(letter: DeadLetter): string {
  const replayed = letter.replayedAt ? ` replayed ${letter.replayedAt.toISOString()}` : '';
  // JSON.stringify shows a NUL byte or a lone surrogate as an escape rather than printing it.
  return `${letter.eventId}  tenant ${letter.tenantId}  ${letter.createdAt.toISOString()}  refused ${letter.failures}x  model ${JSON.stringify(letter.event.requestedModel)}  ${letter.store}: ${letter.error}${replayed}`;
}
