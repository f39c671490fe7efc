import type { Kysely } from 'kysely';
import type { Config } from '../../config.ts';
import type { Database } from '../../database.ts';
import type { Logger } from '../../shared/logger.ts';
import type { RedisClient } from '../../storage/redis-connection.ts';
import { MemoryResponseCache, RedisResponseCache, type ResponseCache } from './response-cache.ts';
import { SqlResponseCache } from './sql-response-cache.ts';
import { TieredResponseCache } from './tiered-response-cache.ts';

/** The cache's levels as configured: always in-process, then Redis when shared, then the SQL database when persistent. */
export function createResponseCache(config: Config['cache'], stores: { redis: RedisClient | undefined; db: Kysely<Database>; logger: Logger }): ResponseCache {
  const levels: ResponseCache[] = [new MemoryResponseCache({ maxEntries: config.maxEntries, ttlMs: config.ttlMs })];
  if (stores.redis) {
    levels.push(new RedisResponseCache({ redis: stores.redis, ttlMs: config.ttlMs, onError: (error) => stores.logger.warn({ err: String(error) }, 'response cache unavailable in Redis: serving without it') }));
  }
  if (config.persistentTtlMs !== undefined) {
    levels.push(new SqlResponseCache({ db: stores.db, ttlMs: config.persistentTtlMs, onError: (error) => stores.logger.warn({ err: String(error) }, 'response cache unavailable in the database: serving without it') }));
  }
  return levels.length === 1 ? levels[0]! : new TieredResponseCache(levels);
}
