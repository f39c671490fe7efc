import { createHash } from 'node:crypto';
import type { LRUCache } from 'lru-cache';
import { growingLru } from '../../shared/growing-lru.ts';
import type { TokenUsage, ToolCall } from '../../providers/provider.ts';
import type { PromptText } from '../../providers/token-estimator.ts';
import type { RedisClient } from '../../storage/redis-connection.ts';

/** A whole answer kept for exact repeats: what the caller saw and where it was served. */
export interface CachedCompletion {
  content: string;
  finishReason: string | null;
  usage: TokenUsage;
  toolCalls?: ToolCall[] | undefined;
  reasoning?: string | undefined;
  /** The upstream's whole answer as JSON text, replayed as it was (OpenAI-compatible upstreams). */
  wire?: string | undefined;
  servedModel: string;
  provider: string;
  deployment: string;
}

export interface ResponseCache {
  get(key: string): Promise<CachedCompletion | undefined>;
  set(key: string, value: CachedCompletion): Promise<void>;
}

/**
 * The key holds everything that shapes the answer, inside the tenant: two tenants never share an
 * entry, and a different model, prompt or parameter is a different entry. Params include the whole
 * request as the client sent it (tools, response_format, image parts, n, seed...) when there is one.
 */
export function responseCacheKey(tenantId: string, kind: string, model: string, prompt: PromptText, params: Record<string, unknown>): string {
  const digest = createHash('sha256').update(JSON.stringify([kind, model, prompt, params])).digest('base64url');
  return `${tenantId}:${digest}`;
}

export class MemoryResponseCache implements ResponseCache {
  readonly #entries: LRUCache<string, CachedCompletion>;
  constructor(options: { maxEntries: number; ttlMs: number }) {
    this.#entries = growingLru(options.maxEntries, { ttl: options.ttlMs });
  }
  async get(key: string): Promise<CachedCompletion | undefined> {
    return this.#entries.get(key);
  }
  async set(key: string, value: CachedCompletion): Promise<void> {
    this.#entries.set(key, value);
  }
}

/** Shared by every instance; a Redis failure is a miss, never an error for the caller. */
export class RedisResponseCache implements ResponseCache {
  readonly #redis: RedisClient;
  readonly #ttlMs: number;
  readonly #prefix: string;
  readonly #onError: (error: unknown) => void;
  constructor(options: { redis: RedisClient; ttlMs: number; prefix?: string; onError: (error: unknown) => void }) {
    this.#redis = options.redis;
    this.#ttlMs = options.ttlMs;
    this.#prefix = options.prefix ?? 'tollgate:cache:';
    this.#onError = options.onError;
  }
  async get(key: string): Promise<CachedCompletion | undefined> {
    try {
      const value = await this.#redis.get(this.#prefix + key);
      return value ? (JSON.parse(value) as CachedCompletion) : undefined;
    } catch (error) {
      this.#onError(error);
      return undefined;
    }
  }
  async set(key: string, value: CachedCompletion): Promise<void> {
    try {
      await this.#redis.set(this.#prefix + key, JSON.stringify(value), 'PX', this.#ttlMs);
    } catch (error) {
      this.#onError(error);
    }
  }
}
