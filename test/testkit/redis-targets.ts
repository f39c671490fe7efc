import { describe, it } from 'vitest';
import { openRedis, parseRedisUrl, type RedisClient, type RedisConnectionOptions } from '../../src/storage/redis-connection.ts';
import { serviceUrl } from './services.ts';

/** A Redis the contract tests run on: the single server and the cluster, each when its URL is set. */
export interface RedisUnderTest {
  name: 'redis' | 'redis-cluster';
  url: string;
  /** A connection made as the gateway makes its own; it connects on its first command. */
  client(options?: RedisConnectionOptions): RedisClient;
  /** Closes every connection client() made. */
  closeAll(): Promise<void>;
}

export function redisTargets(): RedisUnderTest[] {
  const targets: RedisUnderTest[] = [];
  const single = serviceUrl('REDIS');
  if (single) targets.push(target('redis', single));
  const cluster = serviceUrl('REDIS_CLUSTER');
  if (cluster) targets.push(target('redis-cluster', cluster));
  return targets;
}

function target(name: RedisUnderTest['name'], url: string): RedisUnderTest {
  const opened: RedisClient[] = [];
  return {
    name,
    url,
    client: (options) => {
      const client = openRedis(parseRedisUrl(url), options);
      opened.push(client);
      return client;
    },
    closeAll: async () => {
      await Promise.all(opened.splice(0).map((client) => client.quit().catch(() => client.disconnect())));
    },
  };
}

/**
 * describe.each over the Redis targets (`$name` in the title names each). With none set, or `enabled`
 * false, the suite is reported skipped, as describe.runIf would: a file with no test at all fails.
 */
export function describeOnEachRedis(title: string, enabled: boolean, body: (target: RedisUnderTest) => void): void {
  const targets = enabled ? redisTargets() : [];
  if (targets.length > 0) describe.each(targets)(title, body);
  else describe.skip(title.replace('$name', 'Redis'), () => it('needs TOLLGATE_TEST_REDIS_URL (and the cluster: TOLLGATE_TEST_REDIS_CLUSTER_URL)'));
}
