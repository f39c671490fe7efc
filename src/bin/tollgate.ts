import { writeFileSync } from 'node:fs';
import { flushCompileCache } from 'node:module';
import { parseArgs } from 'node:util';
import { createClickhouse } from '../clickhouse/client.ts';
import { clickhouseMigrationsDir, migrateClickhouse } from '../clickhouse/migrate.ts';
import { ConfigError, loadConfig, type Config } from '../config.ts';
import { adminCommandHelp, runAdminCommand } from './admin-commands.ts';
import { releaseStartupMemory } from './release-startup-memory.ts';
import { runSecretsCommand, secretsCommandHelp } from './secrets-command.ts';
import { runUsageCommand, usageCommandHelp } from './usage-command.ts';
import { createServerLogger } from '../shared/logger.ts';
import { openSqlDatabase } from '../storage/sql-database.ts';
import { migrateSql } from '../storage/sql-migrations.ts';

const usage = `tollgate: a multi-tenant LLM gateway

Usage: tollgate <command> [options]

Commands:
  serve                 start the gateway (applies pending migrations first)
  migrate               apply pending SQL migrations, and ClickHouse ones when CLICKHOUSE_URL is set
  print-schema          print the GraphQL schema, sorted (--out FILE to write it)
  tenant create|list|suspend|reactivate
                        create, list, suspend or reactivate tenants, as the platform admin
  key create            create a tenant API key and print its secret once
  plan list|create|update|retire   the plan catalogue: limits, prices (versioned), retirement
  secrets rotate        re-encrypt stored provider credentials with the current key
  usage dead-letters    list or replay usage events a store refused
  help [command]        show help for a command

Configuration comes from the environment (see README.md):
  HOST, PORT, DATABASE_URL, REDIS_URL, CLICKHOUSE_URL, CLICKHOUSE_CLUSTER, TOLLGATE_CONFIG, TOLLGATE_DATA_DIR,
  TOLLGATE_ADMIN_KEY, TOLLGATE_SECRET, TOLLGATE_SECRET_PREVIOUS, TOLLGATE_JWT_SECRET,
  TOLLGATE_JWKS_URL, TOLLGATE_GRAPHQL_INTROSPECTION, LOG_LEVEL
`;

const commandHelp: Record<string, string> = {
  serve: `Usage: tollgate serve

Starts the gateway on HOST:PORT (default 127.0.0.1:8000). Without DATABASE_URL it uses
embedded PGlite under TOLLGATE_DATA_DIR (default ./.tollgate). SIGTERM or SIGINT drains
in-flight requests and streams (TOLLGATE_SHUTDOWN_GRACE_MS, default 10000) and exits 0.
`,
  migrate: `Usage: tollgate migrate

Applies pending SQL migrations (migrations/) to DATABASE_URL or the embedded database,
then pending ClickHouse migrations (clickhouse/*.sql) when CLICKHOUSE_URL is set.
`,
  'print-schema': `Usage: tollgate print-schema [--out FILE]

Prints the GraphQL schema, sorted, to stdout or to FILE.
`,
  ...adminCommandHelp,
  ...secretsCommandHelp,
  ...usageCommandHelp,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    const topic = rest.join(' ');
    process.stdout.write(topic && commandHelp[topic] ? commandHelp[topic] : usage);
    return 0;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    // "tenant create --help" explains the subcommand, "tenant --help" the group.
    const topic = rest[0] && commandHelp[`${command} ${rest[0]}`] ? `${command} ${rest[0]}` : command;
    process.stdout.write(commandHelp[topic] ?? usage);
    return commandHelp[topic] ? 0 : 2;
  }
  switch (command) {
    case 'serve':
      return serve();
    case 'migrate':
      return migrate();
    case 'print-schema':
      return printSchemaCommand(rest);
    case 'tenant':
    case 'key':
    case 'plan':
      return runAdminCommand(command, rest, configOrExit);
    case 'secrets':
      return runSecretsCommand(rest, configOrExit);
    case 'usage':
      return runUsageCommand(rest, configOrExit);
    default:
      process.stderr.write(`tollgate: unknown command "${command}"\n\n${usage}`);
      return 2;
  }
}

function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`tollgate: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

async function serve(): Promise<number> {
  const config = configOrExit();
  const { logger, flush } = createServerLogger(config.logLevel, { sync: config.logSync });
  process.once('exit', flush);
  // Loaded here, not at the top: the other commands start without the whole server.
  const { buildApp } = await import('../app.ts');
  const app = await buildApp(config, logger);
  let address;
  try {
    address = await app.start();
  } catch (error) {
    await app.stop();
    throw error;
  }
  logger.info({ url: address.url, storage: app.deps.db.kind }, `tollgate listening on ${address.url}`);
  // The modules compiled for this start are kept for the next one now, not only at a clean exit.
  flushCompileCache();
  releaseStartupMemory();
  return new Promise((resolve) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'draining: no new connections, waiting for in-flight requests');
      app.stop().then(
        () => {
          logger.info('stopped');
          resolve(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}

async function migrate(): Promise<number> {
  const config = configOrExit();
  const database = await openSqlDatabase({ databaseUrl: config.storage.databaseUrl, dataDir: config.storage.dataDir });
  try {
    const applied = await migrateSql(database.db);
    process.stdout.write(`${database.kind} ${database.location}: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}\n`);
  } finally {
    await database.db.destroy();
  }
  if (config.storage.clickhouseUrl) {
    const clickhouse = createClickhouse(config.storage.clickhouseUrl);
    try {
      const applied = await migrateClickhouse(clickhouse, clickhouseMigrationsDir);
      process.stdout.write(`clickhouse: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}\n`);
    } finally {
      await clickhouse.close();
    }
  }
  return 0;
}

async function printSchemaCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { out: { type: 'string' } } });
  const { printSortedSchema } = await import('../schema.ts');
  if (values.out) writeFileSync(values.out, printSortedSchema());
  else process.stdout.write(printSortedSchema());
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`tollgate: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
