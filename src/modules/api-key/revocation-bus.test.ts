import { Cluster } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { redisTargets } from '../../../test/testkit/redis-targets.ts';
import type { RedisClient } from '../../storage/redis-connection.ts';
import { randomId } from '../../shared/ids.ts';
import { createLogger } from '../../shared/logger.ts';
import { createLocalRevocationBus, createRedisRevocationBus, type RevocationBus } from './revocation-bus.ts';

const logger = createLogger('silent');
const recorder = () => {
  const heard: string[] = [];
  let cleared = 0;
  return { heard, cleared: () => cleared, listener: { evict: (id: string) => heard.push(id), evictTenant: (id: string) => heard.push(`tenant ${id}`), evictAll: () => (cleared += 1) } };
};

describe('local revocation bus', () => {
  it('tells its listeners before publish resolves, until they unsubscribe', async () => {
    const bus = createLocalRevocationBus();
    const a = recorder();
    const unsubscribe = bus.subscribe(a.listener);
    await bus.publish('k1');
    unsubscribe();
    await bus.publish('k2');
    expect(a.heard).toEqual(['k1']);
  });
});

describe.each(redisTargets())('Redis revocation bus: $name', (target) => {
  const connections: RedisClient[] = [];
  const buses: RevocationBus[] = [];
  const channel = `tollgate:test:${randomId(8)}`;
  const open = async (connectionName?: string) => {
    const redis = target.client(connectionName ? { connectionName } : {});
    await redis.connect();
    connections.push(redis);
    const bus = await createRedisRevocationBus(redis, logger, channel);
    buses.push(bus);
    return bus;
  };
  afterAll(async () => {
    for (const bus of buses) await bus.close();
    await target.closeAll();
  });

  it('delivers a key id published on one instance to every other, and locally at once', async () => {
    const one = await open();
    const two = await open();
    const a = recorder();
    const b = recorder();
    one.subscribe(a.listener);
    two.subscribe(b.listener);
    await one.publish('tg-key-1');
    await one.publishTenant('tnt_1');
    // Heard locally before publish resolves (and again, harmlessly, when Redis echoes it back).
    expect(a.heard).toEqual(expect.arrayContaining(['tg-key-1', 'tenant tnt_1']));
    await vi.waitFor(() => expect(b.heard).toEqual(['tg-key-1', 'tenant tnt_1']), { timeout: 1_000, interval: 10 });
  });

  it('drops everything cached when the subscriber reconnects, since messages may have been missed', async () => {
    // The subscriber carries the connection's name, on whichever node of a cluster it listens.
    const name = `revocation-test-${randomId(6)}`;
    const bus = await open(name);
    const a = recorder();
    bus.subscribe(a.listener);
    const connection = connections.at(-1)!;
    let killed = 0;
    for (const node of connection instanceof Cluster ? connection.nodes('all') : [connection]) {
      const clients = (await node.client('LIST')) as string;
      const subscriber = clients.split('\n').find((line) => line.includes(`name=${name} `) && line.includes('sub=1'));
      if (!subscriber) continue;
      await node.client('KILL', 'ID', /id=(\d+)/.exec(subscriber)![1]!);
      killed += 1;
    }
    expect(killed).toBe(1);
    await vi.waitFor(() => expect(a.cleared()).toBeGreaterThan(0), { timeout: 5_000, interval: 20 });
    await buses[0]!.publish('after-reconnect');
    await vi.waitFor(() => expect(a.heard).toContain('after-reconnect'), { timeout: 2_000, interval: 10 });
  });
});
