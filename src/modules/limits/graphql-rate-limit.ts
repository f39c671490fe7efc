import type { IncomingMessage } from 'node:http';
import { useRateLimiter, type Identity } from '@envelop/rate-limiter';
import type { Plugin } from 'graphql-yoga';
import type { GraphQLContext } from '../../context.ts';
import { DomainError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import type { LimitsMetrics } from './limits-metrics.ts';
import type { RedisClient } from '../../storage/redis-connection.ts';

// The control plane's own GraphQL operations, limited per principal with @envelop/rate-limiter.
// Each root field of a query or mutation counts once against the principal's budget per window;
// completions are left to the request gate, which limits them with the tenant's plan.

const WINDOW_MS = 60_000;

/** The store interface @envelop/rate-limiter calls: read a principal's recent call times, then write them back. */
interface CallLog {
  getForIdentity(identity: Identity): Promise<readonly number[]>;
  setForIdentity(identity: Identity, timestamps: readonly number[], windowMs?: number): Promise<void>;
}

/**
 * Keyed by principal alone (not per field), so every root field shares one budget. The library reads
 * then writes the whole list; written as a sorted set merged member by member ("<ms>:<n>", n counting
 * equal times in the list), so two instances writing at once keep each other's calls.
 */
class RedisCallLog implements CallLog {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #onError: (error: unknown) => void;

  constructor(redis: RedisClient, prefix: string, onError: (error: unknown) => void) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#onError = onError;
  }

  async getForIdentity(identity: Identity): Promise<readonly number[]> {
    try {
      const members = await this.#redis.zrangebyscore(this.#key(identity), Date.now() - WINDOW_MS, '+inf');
      return members.map((member) => Number(member.slice(0, member.indexOf(':'))));
    } catch (error) {
      this.#onError(error);
      return [];
    }
  }

  async setForIdentity(identity: Identity, timestamps: readonly number[], windowMs = WINDOW_MS): Promise<void> {
    if (timestamps.length === 0) return;
    const key = this.#key(identity);
    const seen = new Map<number, number>();
    const pairs: (string | number)[] = [];
    for (const t of timestamps) {
      const n = seen.get(t) ?? 0;
      seen.set(t, n + 1);
      pairs.push(t, `${t}:${n}`);
    }
    try {
      await this.#redis
        .multi()
        .zremrangebyscore(key, '-inf', Date.now() - windowMs)
        .zadd(key, ...pairs)
        .pexpire(key, windowMs)
        .exec();
    } catch (error) {
      this.#onError(error);
    }
  }

  #key(identity: Identity): string {
    return `${this.#prefix}gql:{${identity.contextIdentity}}`;
  }
}

class MemoryCallLog implements CallLog {
  readonly #calls = new Map<string, readonly number[]>();

  async getForIdentity(identity: Identity): Promise<readonly number[]> {
    return this.#calls.get(identity.contextIdentity) ?? [];
  }

  async setForIdentity(identity: Identity, timestamps: readonly number[]): Promise<void> {
    const cutoff = Date.now() - WINDOW_MS;
    const live = timestamps.filter((t) => t > cutoff);
    if (live.length === 0) this.#calls.delete(identity.contextIdentity);
    else this.#calls.set(identity.contextIdentity, live);
    // Principals that went quiet are dropped now and then, so the map stays the size of the active ones.
    if (this.#calls.size > 10_000) {
      for (const [key, calls] of this.#calls) if ((calls[calls.length - 1] ?? 0) <= cutoff) this.#calls.delete(key);
    }
  }
}

/** The platform's admin key is the platform's own backend: not limited. */
const UNLIMITED = 'platform';

function principalIdentity(context: GraphQLContext & { req?: IncomingMessage }): string {
  const principal = context.principal;
  switch (principal.kind) {
    case 'platform':
      return UNLIMITED;
    case 'api-key':
      return `key:${principal.keyId}`;
    case 'user':
      return `user:${principal.tenantId}:${principal.userId}`;
    case 'anonymous':
      return `anon:${context.req?.socket.remoteAddress ?? 'unknown'}`;
  }
}

/** Skips the platform: reads as no calls, writes nothing. */
class ExemptingCallLog implements CallLog {
  readonly #inner: CallLog;
  /** The last list read per principal, to tell a refused caller when its oldest call leaves the window. */
  readonly lastRead = new Map<string, readonly number[]>();

  constructor(inner: CallLog) {
    this.#inner = inner;
  }

  async getForIdentity(identity: Identity): Promise<readonly number[]> {
    if (identity.contextIdentity === UNLIMITED) return [];
    const calls = await this.#inner.getForIdentity(identity);
    this.lastRead.set(identity.contextIdentity, calls);
    if (this.lastRead.size > 10_000) this.lastRead.clear();
    return calls;
  }

  setForIdentity(identity: Identity, timestamps: readonly number[], windowMs?: number): Promise<void> {
    if (identity.contextIdentity === UNLIMITED) return Promise.resolve();
    return this.#inner.setForIdentity(identity, timestamps, windowMs);
  }
}

export interface GraphqlRateLimitOptions {
  perMinute: number;
  /** Shared across instances when given (the limiter's fail-fast connection); in-process otherwise. */
  redis: RedisClient | undefined;
  keyPrefix: string;
  logger: Logger;
  metrics: LimitsMetrics;
}

export function graphqlRateLimitPlugin(options: GraphqlRateLimitOptions): Plugin {
  const { perMinute, logger, metrics } = options;
  let lastWarning = 0;
  const onStoreError = (error: unknown) => {
    metrics.storeFailures.inc({ operation: 'graphql', handling: 'fail_open' });
    if (Date.now() - lastWarning > 10_000) {
      lastWarning = Date.now();
      logger.warn({ err: error }, 'GraphQL rate limit store unreachable; operations are not limited meanwhile');
    }
  };
  const log = new ExemptingCallLog(options.redis ? new RedisCallLog(options.redis, options.keyPrefix, onStoreError) : new MemoryCallLog());
  let retryAfter = 60;
  const limit = { max: perMinute, window: '1m' };
  return useRateLimiter({
    identifyFn: (context) => principalIdentity(context as GraphQLContext),
    store: log as never,
    configByField: [
      { type: 'Query', field: '*', ...limit },
      { type: 'Mutation', field: '!(createChatCompletion)', ...limit },
    ],
    formatError: ({ max }) => `Too many GraphQL operations: at most ${max} per minute for each caller.`,
    onRateLimitError: ({ identifier }) => {
      metrics.graphqlRefusals.inc();
      const calls = [...(log.lastRead.get(identifier) ?? [])].sort((a, b) => a - b);
      const oldest = calls[Math.max(0, calls.length - perMinute)];
      retryAfter = oldest === undefined ? 60 : Math.min(60, Math.max(1, Math.ceil((oldest + WINDOW_MS - Date.now()) / 1000)));
    },
    // Called right after onRateLimitError, in the same turn.
    transformError: (message) => new DomainError('RATE_LIMITED', `${message} Please try again in ${retryAfter}s.`, { retryAfter }),
  }) as Plugin;
}
