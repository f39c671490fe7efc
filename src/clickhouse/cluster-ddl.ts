import { identifier, literal } from './escape.ts';

/** CLICKHOUSE_CLUSTER and the database the gateway uses on it. */
export interface ClickhouseCluster {
  /** A cluster named in every server's remote_servers. */
  name: string;
  database: string;
}

/** Table engines the migrations use, each with a Replicated twin. */
const mergeTreeEngines = /^(MergeTree|SummingMergeTree|AggregatingMergeTree|ReplacingMergeTree)\b(\s*\(([^)]*)\))?/;

const createTable = /^CREATE TABLE IF NOT EXISTS ([A-Za-z_][A-Za-z0-9_]*)\s*\(([\s\S]*)\)\s*ENGINE\s*=\s*([\s\S]*)$/;
const createView = /^CREATE (MATERIALIZED VIEW|VIEW) IF NOT EXISTS ([A-Za-z_][A-Za-z0-9_]*)\s+(TO ([A-Za-z_][A-Za-z0-9_]*)\s+)?AS\s+([\s\S]*)$/;

/**
 * A migration's statement as it runs on a replicated cluster. Each table becomes `<name>_local`, a
 * Replicated engine on every server (ON CLUSTER), plus `<name>`, a Distributed table over them that the
 * gateway reads and writes as before. A materialized view fills the local rollup from the local rows
 * on each server, so it sees each insert once. Inserts (the rollups' back-fills) go through the
 * Distributed tables unchanged. Any other statement is refused: it needs a rule here first.
 */
export function replicatedStatements(statement: string, cluster: ClickhouseCluster, localTables: ReadonlySet<string>): string[] {
  const onCluster = `ON CLUSTER ${identifier(cluster.name)}`;
  // Each server runs ON CLUSTER statements in its own default database: every name says which one.
  const db = identifier(cluster.database);
  const table = createTable.exec(statement);
  if (table) {
    const [, name, columns, engineClause] = table;
    const engine = mergeTreeEngines.exec(engineClause!);
    if (!engine) throw new Error(`table ${name}: engine "${engineClause!.split(/\s/)[0]}" has no replicated form here`);
    const args = [literal(`/clickhouse/tables/{shard}/${cluster.database}/${name}`), literal('{replica}')];
    if (engine[3]?.trim()) args.push(engine[3].trim());
    const rest = engineClause!.slice(engine[0].length);
    // Rows of one event land on one shard whatever the retry, so a resent batch is deduplicated there.
    const sharding = /\bevent_id\b/.test(columns!) ? 'cityHash64(event_id)' : 'rand()';
    return [
      `CREATE TABLE IF NOT EXISTS ${db}.${name}_local ${onCluster} (${columns}) ENGINE = Replicated${engine[1]}(${args.join(', ')})${rest}`,
      `CREATE TABLE IF NOT EXISTS ${db}.${name} ${onCluster} AS ${db}.${name}_local ENGINE = Distributed(${identifier(cluster.name)}, ${db}, ${name}_local, ${sharding})`,
    ];
  }
  const view = createView.exec(statement);
  if (view) {
    const [, kind, name, , target, select] = view;
    const qualified = (local: boolean) =>
      select!.replace(/\bFROM\s+([A-Za-z_][A-Za-z0-9_]*)\b(?!\.)/g, (whole, source: string) =>
        localTables.has(source) ? `FROM ${db}.${source}${local ? '_local' : ''}` : whole,
      );
    if (kind === 'VIEW') return [`CREATE VIEW IF NOT EXISTS ${db}.${name} ${onCluster} AS ${qualified(false)}`];
    if (!target) throw new Error(`materialized view ${name}: only views writing TO a table can be replicated`);
    return [`CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.${name} ${onCluster} TO ${db}.${target}_local AS ${qualified(true)}`];
  }
  if (/^INSERT INTO\b/i.test(statement)) return [statement];
  throw new Error(`no replicated form for: ${statement.slice(0, 80).replace(/\s+/g, ' ')}`);
}

/** The table names a statement creates, so later views know which sources have a local twin. */
export function createdTable(statement: string): string | undefined {
  return createTable.exec(statement)?.[1];
}
