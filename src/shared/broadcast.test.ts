import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { redisTargets } from '../../test/testkit/redis-targets.ts';
import { createLocalBroadcast, createRedisBroadcast, type Broadcast } from './broadcast.ts';
import { randomId } from './ids.ts';
import { createLogger } from './logger.ts';

const logger = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));

describe('broadcast', () => {
  it('in one process: calls each listener of the topic once, until it unsubscribes', async () => {
    const broadcast = createLocalBroadcast(logger);
    const heard: string[] = [];
    const off = broadcast.subscribe('t', (message) => heard.push(message));
    broadcast.subscribe('other', () => heard.push('wrong topic'));
    await broadcast.publish('t', 'one');
    off();
    await broadcast.publish('t', 'two');
    expect(heard).toEqual(['one']);
  });

  describe.each(redisTargets())('over $name', (target) => {
    const broadcasts: Broadcast[] = [];
    afterAll(async () => {
      await Promise.all(broadcasts.map((b) => b.close()));
      await target.closeAll();
    });

    const instance = async (prefix: string) => {
      const redis = target.client();
      await redis.connect();
      const broadcast = await createRedisBroadcast(redis, logger, prefix);
      broadcasts.push(broadcast);
      return broadcast;
    };

    it('reaches every instance once: the publisher at once, the others through Redis', async () => {
      const prefix = `test:bus:${randomId(8)}:`;
      const [a, b] = [await instance(prefix), await instance(prefix)];
      const heardA: string[] = [];
      const heardB: string[] = [];
      a.subscribe('quota', (message) => heardA.push(message));
      b.subscribe('quota', (message) => heardB.push(message));
      await Promise.all([a.ready(), b.ready()]);
      await a.publish('quota', 'crossed 80');
      expect(heardA).toEqual(['crossed 80']);
      const deadline = Date.now() + 2_000;
      while (heardB.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(heardB).toEqual(['crossed 80']);
      expect(heardA).toEqual(['crossed 80']);
    });
  });
});
