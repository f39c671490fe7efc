import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';

export type { ClickHouseClient };

export interface ClickhouseOptions {
  /** Per-request timeout; a stalled server must not hold a usage flush forever. */
  requestTimeoutMs?: number;
  /**
   * The client's own console logging. Off by default: every failure also rejects the call, and the
   * caller logs it through our logger with the request context.
   */
  logLevel?: ClickHouseLogLevel;
  /**
   * The tables are Distributed over a cluster: an insert returns once its rows are on their shard, not
   * queued on this server, so a resend's check for stored events sees them.
   */
  cluster?: boolean;
}

/** The database named by the URL path (`http://host:8123/usage` -> `usage`), else `default`. */
export function databaseFromUrl(url: string | URL): string {
  const path = new URL(url).pathname.replace(/^\/+|\/+$/g, '');
  return path === '' ? 'default' : decodeURIComponent(path);
}

/**
 * A client for CLICKHOUSE_URL (`http[s]://[user:password@]host:port[/database][?ch_setting=value]`).
 * The database is passed as an option, not left in the URL path, so every request goes to `/`.
 */
export function createClickhouse(url: string, options: ClickhouseOptions = {}): ClickHouseClient {
  const serverUrl = new URL(url);
  const database = databaseFromUrl(serverUrl);
  serverUrl.pathname = '/';
  return createClient({
    url: serverUrl,
    database,
    request_timeout: options.requestTimeoutMs ?? 30_000,
    application: 'tollgate',
    log: { level: options.logLevel ?? ClickHouseLogLevel.OFF },
    ...(options.cluster ? { clickhouse_settings: { insert_distributed_sync: 1 } } : {}),
  });
}
