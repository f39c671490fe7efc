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
const alterAddColumn = /^ALTER TABLE ([A-Za-z_][A-Za-z0-9_]*)\s+(ADD COLUMN\s[\s\S]*)$/;
const createView = /^CREATE (MATERIALIZED VIEW|VIEW) IF NOT EXISTS ([A-Za-z_][A-Za-z0-9_]*)\s+(TO ([A-Za-z_][A-Za-z0-9_]*)\s+)?AS\s+([\s\S]*)$/;

/**
 * A migration's statement as it runs on a replicated cluster. Each table becomes `<name>_local`, a
 * Replicated engine on every server (ON CLUSTER), plus `<name>`, a Distributed table over them that the
 * gateway reads and writes as before. A materialized view fills the local rollup from the local rows
 * on each server, so it sees each insert once. A column added to a table is added to both. Inserts
 * (the rollups' back-fills) go through the Distributed tables unchanged. Any other statement is
 * refused: it needs a rule here first.
 */
export function replicatedStatements(statement: string, cluster: ClickhouseCluster, localTables: ReadonlyMap<string, string>): string[] {
  const onCluster = `ON CLUSTER ${identifier(cluster.name)}`;
  // Each server runs ON CLUSTER statements in its own default database: every name says which one.
  const db = identifier(cluster.database);
  const distributedTable = (name: string, sharding: string) =>
    `CREATE TABLE IF NOT EXISTS ${db}.${name} ${onCluster} AS ${db}.${name}_local ENGINE = Distributed(${identifier(cluster.name)}, ${db}, ${name}_local, ${sharding})`;
  const table = createTable.exec(statement);
  if (table) {
    const [, name, columns, engineClause] = table;
    const engine = mergeTreeEngines.exec(engineClause!);
    if (!engine) throw new Error(`table ${name}: engine "${engineClause!.split(/\s/)[0]}" has no replicated form here`);
    const args = [literal(`/clickhouse/tables/{shard}/${cluster.database}/${name}`), literal('{replica}')];
    if (engine[3]?.trim()) args.push(engine[3].trim());
    const rest = engineClause!.slice(engine[0].length);
    return [
      `CREATE TABLE IF NOT EXISTS ${db}.${name}_local ${onCluster} (${columns}) ENGINE = Replicated${engine[1]}(${args.join(', ')})${rest}`,
      distributedTable(name!, shardingOf(columns!)),
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
  const alter = alterAddColumn.exec(statement);
  if (alter && localTables.has(alter[1]!)) {
    // The Distributed table over the replicated ones must have the column too. ClickHouse refuses an
    // ALTER ON CLUSTER of it (it is not replicated, its shards are), so it is made anew: it holds no rows.
    const [, name, change] = alter;
    return [`ALTER TABLE ${db}.${name}_local ${onCluster} ${change}`, `DROP TABLE IF EXISTS ${db}.${name} ${onCluster}`, distributedTable(name!, localTables.get(name!)!)];
  }
  if (/^INSERT INTO\b/i.test(statement)) return [statement];
  throw new Error(`no replicated form for: ${statement.slice(0, 80).replace(/\s+/g, ' ')}`);
}

/** Rows of one event land on one shard whatever the retry, so a resent batch is deduplicated there. */
function shardingOf(columns: string): string {
  return /\bevent_id\b/.test(columns) ? 'cityHash64(event_id)' : 'rand()';
}

/**
 * The table a statement creates, with the sharding key of its Distributed table on a cluster, so later
 * statements know which names have a local twin and how to make the Distributed table again.
 */
export function createdTable(statement: string): { name: string; sharding: string } | undefined {
  const table = createTable.exec(statement);
  return table ? { name: table[1]!, sharding: shardingOf(table[2]!) } : undefined;
}
