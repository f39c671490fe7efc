import { Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { redisTargets } from '../../test/testkit/redis-targets.ts';
import { randomId } from '../shared/ids.ts';
import { RedisClusterSubscriber } from './redis-cluster-subscriber.ts';

const cluster = redisTargets().find((target) => target.name === 'redis-cluster');

describe.runIf(cluster)('Redis Cluster subscriber', () => {
  const plain: Redis[] = [];
  afterAll(async () => {
    await Promise.all(plain.map((redis) => redis.quit()));
    await cluster!.closeAll();
  });

  /** The node whose CLIENT LIST shows the connection named `name` subscribed, and the client's id there. */
  const whereSubscribed = async (client: Cluster, name: string) => {
    for (const node of client.nodes('all')) {
      const line = ((await node.client('LIST')) as string).split('\n').find((entry) => entry.includes(`name=${name} `) && entry.includes('sub=1'));
      if (line) return { node, id: /id=(\d+)/.exec(line)![1]! };
    }
    return undefined;
  };
  const publishOn = (node: Redis, channel: string, message: string) => {
    const redis = new Redis({ host: node.options.host, port: node.options.port });
    plain.push(redis);
    return redis.publish(channel, message);
  };

  it('hears what is published on any node, and moves to another node when its own goes', async () => {
    const name = `subscriber-test-${randomId(6)}`;
    const client = cluster!.client({ connectionName: name }) as Cluster;
    await client.connect();
    const subscriber = new RedisClusterSubscriber(client);
    const heard: string[] = [];
    const events: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => heard.push(message));
    subscriber.on('close', () => events.push('close'));
    subscriber.on('ready', () => events.push('ready'));
    const channel = `test:subscriber:${randomId(8)}`;
    await subscriber.connect();
    await subscriber.subscribe(channel);

    const first = (await whereSubscribed(client, name))!;
    const others = client.nodes('all').filter((node) => node.options.port !== first.node.options.port);
    expect(others.length).toBeGreaterThanOrEqual(2);
    for (const node of others) await publishOn(node, channel, `from ${node.options.port}`);
    await vi.waitFor(() => expect(heard).toHaveLength(others.length), { timeout: 2_000, interval: 10 });

    await first.node.client('KILL', 'ID', first.id);
    await vi.waitFor(() => expect(events).toEqual(['close', 'ready']), { timeout: 5_000, interval: 10 });
    const second = (await whereSubscribed(client, name))!;
    expect(second.node.options.port).not.toBe(first.node.options.port);
    await publishOn(first.node, channel, 'after the move');
    await vi.waitFor(() => expect(heard).toContain('after the move'), { timeout: 2_000, interval: 10 });
    await subscriber.quit();
  });
});
