import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { RedisClusterSubscriber } from './redis-cluster-subscriber.ts';

/**
 * One Redis or a Redis Cluster. Tollgate's calls work on either: each script's keys carry the tenant's
 * hash tag, so they share one slot.
 */
export type RedisClient = Redis | Cluster;

export interface RedisNodeAddress {
  host: string;
  port: number;
}

/** What REDIS_URL names: one server (redis:// or rediss://) or a cluster (redis+cluster://h1:p,h2:p). */
export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: RedisNodeAddress[]; username?: string; password?: string; tls: boolean };

const clusterUrl = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#]+)\/?$/;

/** Parses REDIS_URL, or throws an Error that says what is wrong with it. */
export function parseRedisUrl(url: string): RedisTarget {
  if (/^rediss?:\/\//.test(url)) {
    if (!URL.canParse(url)) throw new Error('not a valid redis:// URL');
    return { kind: 'single', url };
  }
  if (!/^rediss?\+cluster:\/\//.test(url)) throw new Error('expected redis://, rediss:// or redis+cluster://host:port,host:port,...');
  const match = clusterUrl.exec(url);
  if (!match) throw new Error('a cluster URL is redis+cluster://[user:password@]host:port,host:port,... with no path');
  const [, scheme, credentials, hostList] = match;
  const nodes: RedisNodeAddress[] = [];
  for (const entry of hostList!.split(',')) {
    const node = /^([^:,\s]+):(\d{1,5})$/.exec(entry.trim());
    const port = Number(node?.[2]);
    if (!node || port < 1 || port > 65_535) throw new Error(`cluster node "${entry}" is not host:port`);
    nodes.push({ host: node[1]!, port });
  }
  const target: RedisTarget = { kind: 'cluster', nodes, tls: scheme === 'rediss' };
  if (credentials) {
    const colon = credentials.indexOf(':');
    const username = decodeURIComponent(colon < 0 ? credentials : credentials.slice(0, colon));
    if (username) target.username = username;
    if (colon >= 0) target.password = decodeURIComponent(credentials.slice(colon + 1));
  }
  return target;
}

/** REDIS_URL for logs and errors, without its password. */
export function describeRedisUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}

/** The knobs Tollgate sets on its connections, in one form for a server and a cluster. */
export interface RedisConnectionOptions {
  /** false: a command fails at once while disconnected instead of waiting. */
  enableOfflineQueue?: boolean;
  /** 0: fail fast (for a cluster, no waiting out a failover either); null: retry until connected. */
  maxRetriesPerRequest?: number | null;
  commandTimeout?: number;
  enableAutoPipelining?: boolean;
  /** Delay before reconnecting (to the cluster, when every node was lost). */
  retryStrategy?: (times: number) => number | null;
  connectionName?: string;
}

/** A connection that is not yet connected: call connect(). */
export function openRedis(target: RedisTarget, options: RedisConnectionOptions = {}): RedisClient {
  if (target.kind === 'single') return new Redis(target.url, { ...singleOptions(options), lazyConnect: true });
  const redisOptions: ClusterOptions['redisOptions'] = nodeOptions(options);
  if (target.username) redisOptions.username = target.username;
  if (target.password) redisOptions.password = target.password;
  if (target.tls) redisOptions.tls = {};
  return new Cluster(target.nodes, { ...clusterOptions(options), redisOptions, lazyConnect: true });
}

/** Another connection to the same server or cluster, with these options instead (not yet connected). */
export function duplicateRedis(client: RedisClient, options: RedisConnectionOptions): RedisClient {
  if (client instanceof Redis) return client.duplicate({ ...singleOptions(options), lazyConnect: true });
  return client.duplicate([], {
    ...clusterOptions(options),
    redisOptions: { ...client.options.redisOptions, ...nodeOptions(options) },
    lazyConnect: true,
  });
}

/**
 * What a pub/sub listener needs of its connection. A `close` is followed by a `ready` once it hears its
 * channels again; messages published in between are lost.
 */
export interface RedisSubscriber {
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'close' | 'ready', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeAllListeners(event: 'close'): unknown;
  connect(): Promise<void>;
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  quit(): Promise<unknown>;
  disconnect(): void;
}

/**
 * A connection for SUBSCRIBE (not yet connected). On a cluster, PUBLISH reaches every node, so it
 * listens on one node and moves to another when that one goes.
 */
export function openSubscriber(client: RedisClient): RedisSubscriber {
  if (client instanceof Redis) return client.duplicate({ lazyConnect: true, enableOfflineQueue: true, maxRetriesPerRequest: null });
  return new RedisClusterSubscriber(client);
}

function singleOptions(options: RedisConnectionOptions): RedisOptions {
  const out: RedisOptions = { ...nodeOptions(options) };
  if (options.enableOfflineQueue !== undefined) out.enableOfflineQueue = options.enableOfflineQueue;
  if (options.enableAutoPipelining !== undefined) out.enableAutoPipelining = options.enableAutoPipelining;
  if (options.retryStrategy) out.retryStrategy = options.retryStrategy;
  return out;
}

function nodeOptions(options: RedisConnectionOptions): NonNullable<ClusterOptions['redisOptions']> {
  const out: NonNullable<ClusterOptions['redisOptions']> = {};
  if (options.maxRetriesPerRequest !== undefined) out.maxRetriesPerRequest = options.maxRetriesPerRequest;
  if (options.commandTimeout !== undefined) out.commandTimeout = options.commandTimeout;
  if (options.connectionName !== undefined) out.connectionName = options.connectionName;
  return out;
}

function clusterOptions(options: RedisConnectionOptions): ClusterOptions {
  const out: ClusterOptions = {};
  if (options.enableOfflineQueue !== undefined) out.enableOfflineQueue = options.enableOfflineQueue;
  if (options.enableAutoPipelining !== undefined) out.enableAutoPipelining = options.enableAutoPipelining;
  if (options.retryStrategy) out.clusterRetryStrategy = options.retryStrategy;
  if (options.maxRetriesPerRequest === 0) {
    // A command to a lost master fails at once rather than waiting for its replica to take over.
    out.retryDelayOnFailover = 0;
    out.retryDelayOnClusterDown = 0;
  }
  return out;
}
