import type { LimitsConfig } from '../../config.ts';
import type { Logger } from '../../shared/logger.ts';
import { duplicateRedis, type RedisClient } from '../../storage/redis-connection.ts';
import type { LimiterStore } from './limiter-store.ts';
import { MemoryLimiterStore } from './memory-limiter-store.ts';
import { RedisLimiterStore } from './redis-limiter-store.ts';

export interface OpenedLimiterStore {
  store: LimiterStore;
  /** The limiter's own fail-fast connection (budgets and the GraphQL rate limit share it); none in memory. */
  redis: RedisClient | undefined;
}

/** Shared counters in Redis when there is one, in process memory otherwise. */
export async function openLimiterStore(config: LimitsConfig, redis: RedisClient | undefined, logger: Logger): Promise<OpenedLimiterStore> {
  if (!redis) return { store: new MemoryLimiterStore({ requestIdTtlMs: config.requestIdTtlMs, generatedRequestIdTtlMs: config.generatedRequestIdTtlMs }), redis: undefined };
  // No offline queue, no retries, a short timeout: a Redis outage costs a request milliseconds before it
  // fails open (or closed). No auto-pipelining: ioredis holds every command back while a pipeline's
  // replies are awaited, so an admission waited for the settlement sent before it; the store gathers a
  // turn's calls into one write itself.
  const limiterRedis = duplicateRedis(redis, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: config.redisTimeoutMs,
    enableAutoPipelining: false,
    retryStrategy: (times: number) => Math.min(100 * times, 1_000),
  });
  limiterRedis.on('error', (error: Error) => logger.debug({ err: error }, 'limits: Redis connection error'));
  await limiterRedis.connect();
  const store = new RedisLimiterStore({
    redis: limiterRedis,
    keyPrefix: config.keyPrefix,
    requestIdTtlMs: config.requestIdTtlMs,
    generatedRequestIdTtlMs: config.generatedRequestIdTtlMs,
    flushIntervalMs: config.flushIntervalMs,
  });
  return { store, redis: limiterRedis };
}
