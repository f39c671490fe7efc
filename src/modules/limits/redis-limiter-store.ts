import type { Redis } from 'ioredis';
import {
  alertThresholds,
  type AdmitInput,
  type AdmitOutcome,
  type LimiterStore,
  type LimitSpec,
  type LimitState,
  type QuotaSpec,
  type QuotaUse,
  type SettleInput,
  type SettleOutcome,
} from './limiter-store.ts';
import { admitScript, peekScript, seedScript, settleScript } from './limiter-scripts.ts';
import { periodEnd } from './memory-limiter-store.ts';

export interface RedisLimiterStoreOptions {
  /**
   * A connection of the limiter's own: it should fail fast (no offline queue, a command timeout) so a
   * Redis outage costs a request milliseconds, not seconds.
   */
  redis: Redis;
  /** Prefix of every key, e.g. "tollgate:" (tests use their own). */
  keyPrefix: string;
  requestIdTtlMs: number;
  /** Tests pin the time; otherwise the Redis server's clock is used. */
  now?: () => number;
}

type ScriptRunner = (numKeys: number, ...args: (string | number)[]) => Promise<unknown>;

const kindCode = { requests: 'r', tokens: 't', concurrency: 'c' } as const;

/** Shared counters in Redis: one script round trip per admission and one per settlement. */
export class RedisLimiterStore implements LimiterStore {
  readonly kind = 'redis' as const;
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #requestIdTtlMs: number;
  readonly #now: (() => number) | undefined;
  readonly #admit: ScriptRunner;
  readonly #settle: ScriptRunner;
  readonly #seed: ScriptRunner;
  readonly #peek: ScriptRunner;

  constructor(options: RedisLimiterStoreOptions) {
    this.#redis = options.redis;
    this.#prefix = options.keyPrefix;
    this.#requestIdTtlMs = options.requestIdTtlMs;
    this.#now = options.now;
    // EVALSHA, falling back to EVAL (and caching the script) when the server does not know it yet.
    const define = (name: string, lua: string): ScriptRunner => {
      if (!(name in this.#redis)) this.#redis.defineCommand(name, { lua });
      const command = (this.#redis as unknown as Record<string, ScriptRunner>)[name]!;
      return command.bind(this.#redis);
    };
    this.#admit = define('tollgateLimitAdmit', admitScript);
    this.#settle = define('tollgateLimitSettle', settleScript);
    this.#seed = define('tollgateLimitSeed', seedScript);
    this.#peek = define('tollgateLimitPeek', peekScript);
  }

  async admit(input: AdmitInput): Promise<AdmitOutcome> {
    const keys = [this.#quotaKey(input.tenantId, input.quota.period), this.#requestIdKey(input.tenantId, input.requestId), ...this.#specKeys(input, input.specs)];
    const args: (string | number)[] = [
      this.#now?.() ?? '',
      input.admissionId,
      input.estimate,
      input.requireSeed ? 1 : 0,
      input.quota.tokenLimit,
      input.quota.hardTokens ? 1 : 0,
      input.quota.requestLimit,
      input.quota.expiresAtMs,
      periodEnd(input.quota),
      this.#requestIdTtlMs,
      input.specs.length,
      ...specArgs(input.specs),
    ];
    const reply = (await this.#admit(keys.length, ...keys, ...args)) as number[];
    if (reply[0] === 0) return { status: 'unseeded' };
    if (reply[0] === 1) {
      return { status: 'admitted', quota: { seeded: reply[1] === 1, tokens: reply[2]!, requests: reply[3]! }, states: states(reply, 4) };
    }
    const reason = reply[1] === 1 ? 'quota_tokens' : reply[1] === 2 ? 'quota_requests' : 'limit';
    return {
      status: 'refused',
      reason,
      spec: reply[2]!,
      retryAfterMs: reply[3]!,
      quota: { seeded: reply[4] === 1, tokens: reply[5]!, requests: reply[6]! },
      states: states(reply, 7),
    };
  }

  async settle(input: SettleInput): Promise<SettleOutcome> {
    const keys = [this.#quotaKey(input.tenantId, input.quota.period), this.#requestIdKey(input.tenantId, input.requestId), ...this.#specKeys(input, input.specs)];
    const args: (string | number)[] = [
      '',
      input.admissionId,
      input.reserved,
      input.actual,
      input.quota.tokenLimit,
      this.#requestIdTtlMs,
      input.specs.length,
      ...input.specs.map((spec) => kindCode[spec.kind]),
      alertThresholds.length,
      ...alertThresholds,
    ];
    const reply = (await this.#settle(keys.length, ...keys, ...args)) as number[];
    return { quota: { seeded: reply[0] === 1, tokens: reply[1]!, requests: reply[2]! }, crossed: reply.slice(3) };
  }

  async seedQuota(tenantId: string, quota: QuotaSpec, base: { tokens: number; requests: number }): Promise<void> {
    await this.#seed(1, this.#quotaKey(tenantId, quota.period), base.tokens, base.requests, quota.expiresAtMs, quota.tokenLimit, alertThresholds.length, ...alertThresholds);
  }

  async readQuota(tenantId: string, period: string): Promise<QuotaUse> {
    const [seeded, baseTokens, tokens, baseRequests, requests] = await this.#redis.hmget(
      this.#quotaKey(tenantId, period),
      'seeded',
      'base_tokens',
      'tokens',
      'base_requests',
      'requests',
    );
    return { seeded: seeded === '1', tokens: Number(baseTokens ?? 0) + Number(tokens ?? 0), requests: Number(baseRequests ?? 0) + Number(requests ?? 0) };
  }

  async peek(tenantId: string, apiKeyId: string | null, specs: readonly LimitSpec[]): Promise<LimitState[]> {
    const keys = ['-', '-', ...this.#specKeys({ tenantId, apiKeyId }, specs)];
    const reply = (await this.#peek(keys.length, ...keys, this.#now?.() ?? '', specs.length, ...specArgs(specs))) as number[];
    return states(reply, 0);
  }

  async close(): Promise<void> {}

  #tag(tenantId: string): string {
    return `{${tenantId}}`;
  }

  #quotaKey(tenantId: string, period: string): string {
    return `${this.#prefix}quota:${this.#tag(tenantId)}:${period}`;
  }

  #requestIdKey(tenantId: string, requestId: string): string {
    return `${this.#prefix}rid:${this.#tag(tenantId)}:${requestId}`;
  }

  #specKeys(input: { tenantId: string; apiKeyId: string | null }, specs: readonly LimitSpec[]): string[] {
    const keys: string[] = [];
    for (const spec of specs) {
      const scope = spec.scope === 'key' ? `k:${input.apiKeyId ?? ''}:` : '';
      const key = `${this.#prefix}rl:${this.#tag(input.tenantId)}:${scope}${spec.name}`;
      keys.push(key);
      if (spec.kind === 'tokens') keys.push(`${key}:sum`);
    }
    return keys;
  }
}

function specArgs(specs: readonly LimitSpec[]): (string | number)[] {
  return specs.flatMap((spec) => [kindCode[spec.kind], spec.limit, spec.windowMs]);
}

function states(reply: number[], from: number): LimitState[] {
  const out: LimitState[] = [];
  for (let i = from; i + 2 < reply.length; i += 3) {
    out.push({ limit: reply[i]!, remaining: reply[i + 1]!, resetMs: reply[i + 2]! });
  }
  return out;
}
