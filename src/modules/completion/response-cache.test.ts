import { afterAll, describe, expect, it } from 'vitest';
import { redisTargets } from '../../../test/testkit/redis-targets.ts';
import { randomId } from '../../shared/ids.ts';
import { openSqlDatabase, type SqlDatabaseHandle } from '../../storage/sql-database.ts';
import { migrateSql } from '../../storage/sql-migrations.ts';
import { MemoryResponseCache, RedisResponseCache, responseCacheKey, type CachedCompletion, type ResponseCache } from './response-cache.ts';
import { SqlResponseCache } from './sql-response-cache.ts';
import { TieredResponseCache } from './tiered-response-cache.ts';

// One contract over the caches: in memory, on one Redis and on a Redis Cluster, in the SQL database
// (embedded PGlite), and all of them as levels of one.

const answer = (content: string): CachedCompletion => ({
  content,
  finishReason: 'stop',
  usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5, estimated: false },
  servedModel: 'upstream',
  provider: 'gpu-a',
  deployment: 'gpu-a/upstream',
});

const targets = redisTargets();
let embedded: SqlDatabaseHandle | undefined;
async function embeddedDb() {
  if (!embedded) {
    embedded = await openSqlDatabase({ inMemory: true });
    await migrateSql(embedded.db);
  }
  return embedded.db;
}
const caches: { name: string; create(): ResponseCache | Promise<ResponseCache> }[] = [
  { name: 'sql', create: async () => new SqlResponseCache({ db: await embeddedDb(), ttlMs: 60_000, onError: (error: unknown) => { throw error; } }) },
  { name: 'tiered', create: () => new TieredResponseCache([new MemoryResponseCache({ maxEntries: 10, ttlMs: 60_000 }), new MemoryResponseCache({ maxEntries: 100, ttlMs: 60_000 })]) },
  { name: 'memory', create: () => new MemoryResponseCache({ maxEntries: 100, ttlMs: 60_000 }) },
  ...targets.map((target) => ({
    name: target.name,
    create: () => new RedisResponseCache({ redis: target.client(), ttlMs: 60_000, prefix: `test:cache:${randomId(8)}:`, onError: (error: unknown) => { throw error; } }),
  })),
];

afterAll(async () => {
  await Promise.all(targets.map((target) => target.closeAll()));
  await embedded?.db.destroy();
});

describe.each(caches)('response cache: $name', ({ create }) => {
  it('returns what was stored under a key, and nothing under another tenant or prompt', async () => {
    const cache = await create();
    const prompt = 'cache me';
    const key = responseCacheKey('tnt_a', 'chat', 'chat-model', prompt, { temperature: 0 });
    expect(await cache.get(key)).toBeUndefined();
    await cache.set(key, answer('hello'));
    expect(await cache.get(key)).toEqual(answer('hello'));
    expect(await cache.get(responseCacheKey('tnt_b', 'chat', 'chat-model', prompt, { temperature: 0 }))).toBeUndefined();
    expect(await cache.get(responseCacheKey('tnt_a', 'chat', 'chat-model', 'other', { temperature: 0 }))).toBeUndefined();
  });

  it('keeps many tenants apart, wherever their entries land', async () => {
    const cache = await create();
    const prompt = 'same prompt';
    const tenants = Array.from({ length: 20 }, (_, i) => `tnt_${i}_${randomId(6)}`);
    await Promise.all(tenants.map((tenant) => cache.set(responseCacheKey(tenant, 'chat', 'm', prompt, {}), answer(tenant))));
    const read = await Promise.all(tenants.map((tenant) => cache.get(responseCacheKey(tenant, 'chat', 'm', prompt, {}))));
    expect(read.map((entry) => entry?.content)).toEqual(tenants);
  });
});

describe.each(targets)('response cache on $name that cannot be reached', (target) => {
  it('misses and reports the error instead of failing the request', async () => {
    const redis = target.client({ enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    redis.disconnect();
    const heard: unknown[] = [];
    const cache = new RedisResponseCache({ redis, ttlMs: 60_000, onError: (error) => heard.push(error) });
    await cache.set('tnt_x:digest', answer('lost'));
    expect(await cache.get('tnt_x:digest')).toBeUndefined();
    expect(heard).toHaveLength(2);
  });
});

describe('tiered response cache', () => {
  it('copies a hit from a further level into the nearer ones', async () => {
    const near = new MemoryResponseCache({ maxEntries: 10, ttlMs: 60_000 });
    const far = new MemoryResponseCache({ maxEntries: 10, ttlMs: 60_000 });
    const key = responseCacheKey('tnt_a', 'chat', 'm', 'far away', {});
    await far.set(key, answer('from far'));
    expect(await near.get(key)).toBeUndefined();
    expect(await new TieredResponseCache([near, far]).get(key)).toEqual(answer('from far'));
    expect(await near.get(key)).toEqual(answer('from far'));
  });

  it('writes an answer to every level', async () => {
    const levels = [new MemoryResponseCache({ maxEntries: 10, ttlMs: 60_000 }), new MemoryResponseCache({ maxEntries: 10, ttlMs: 60_000 })];
    const key = responseCacheKey('tnt_a', 'chat', 'm', 'everywhere', {});
    await new TieredResponseCache(levels).set(key, answer('both'));
    expect(await Promise.all(levels.map((level) => level.get(key)))).toEqual([answer('both'), answer('both')]);
  });
});
