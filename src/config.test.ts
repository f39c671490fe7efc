import { describe, expect, it } from 'vitest';
import { loadConfig, type ConfigError } from './config.ts';

describe('REDIS_URL and CLICKHOUSE_CLUSTER in the configuration', () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig({ TOLLGATE_DATA_DIR: '/tmp/tollgate-config-test', ...env });
      return [];
    } catch (error) {
      return (error as ConfigError).problems;
    }
  };

  it('takes a cluster URL, and names the variable of a bad one', () => {
    expect(loadConfig({ REDIS_URL: 'redis+cluster://h1:7001,h2:7002' }).storage.redisUrl).toBe('redis+cluster://h1:7001,h2:7002');
    expect(problems({ REDIS_URL: 'redis+cluster://h1:7001,h2' })).toEqual(['REDIS_URL (storage.redisUrl: cluster node "h2" is not host:port)']);
  });

  it('takes a ClickHouse cluster name only with a ClickHouse URL', () => {
    expect(loadConfig({ CLICKHOUSE_URL: 'http://ch:8123/usage', CLICKHOUSE_CLUSTER: 'tollgate' }).storage.clickhouseCluster).toBe('tollgate');
    expect(problems({ CLICKHOUSE_CLUSTER: 'tollgate' })).toEqual(['CLICKHOUSE_CLUSTER (storage.clickhouseCluster: needs CLICKHOUSE_URL (a server of the cluster))']);
    expect(problems({ CLICKHOUSE_URL: 'http://ch:8123', CLICKHOUSE_CLUSTER: 'no-dashes' })[0]).toMatch(/^CLICKHOUSE_CLUSTER \(storage.clickhouseCluster: a cluster name/);
  });
});
