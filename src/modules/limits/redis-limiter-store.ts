import { Redis } from 'ioredis';
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
import type { RedisClient } from '../../storage/redis-connection.ts';

export interface RedisLimiterStoreOptions {
  /**
   * A connection of the limiter's own: it should fail fast (no offline queue, a command timeout) so a
   * Redis outage costs a request milliseconds, not seconds.
   */
  redis: RedisClient;
  /** Prefix of every key, e.g. "tollgate:" (tests use their own). */
  keyPrefix: string;
  /** How long a request id the client sent is remembered, so a retry counts once. */
  requestIdTtlMs: number;
  /**
   * The same for an id minted here (the default: requestIdTtlMs). Only a settlement's retry repeats it,
   * and these are most ids: at 1,000 requests a second each minute of memory is about 7 MB of Redis.
   */
  generatedRequestIdTtlMs?: number;
  /**
   * Lazy admissions and settlements (see AdmitInput and SettleInput) are held back up to this long and
   * sent together; others go at the end of their turn, and take those held with them. 0: no holding back.
   */
  flushIntervalMs?: number;
  /** Tests pin the time; otherwise the Redis server's clock is used. */
  now?: () => number;
}

interface Pending<Input, Outcome> {
  input: Input;
  resolve: (outcome: Outcome) => void;
  reject: (error: unknown) => void;
}
type PendingAdmission = Pending<AdmitInput, AdmitOutcome>;
type PendingSettlement = Pending<SettleInput, SettleOutcome>;

/** At most this many admissions or settlements in one script call, so one call never holds Redis for long. */
const maxPerCall = 100;

type ScriptRunner = (numKeys: number, ...args: (string | number)[]) => Promise<unknown>;

/** How a list of specs is laid out for the scripts (see limiter-scripts.ts), worked out once per list. */
interface SpecLayout {
  /** kind, limit, windowMs per spec. */
  args: (string | number)[];
  kinds: string[];
  /** Per spec: its key's name within the tenant, and whether a sum key follows. */
  keys: { scope: LimitSpec['scope']; name: string; sum: boolean }[];
}

const layouts = new WeakMap<readonly LimitSpec[], SpecLayout>();

function layoutOf(specs: readonly LimitSpec[]): SpecLayout {
  let layout = layouts.get(specs);
  if (layout) return layout;
  layout = { args: [], kinds: [], keys: [] };
  for (const spec of specs) {
    // The tenant's requests window counts the entries of its tokens window of the same length. Only the
    // tenant's: its two windows always come together, while a key's are set apart, and a window that
    // switched between its own log and the shared one would start counting afresh.
    const log =
      spec.kind === 'requests' && spec.scope === 'tenant'
        ? specs.find((other) => other.kind === 'tokens' && other.scope === 'tenant' && other.windowMs === spec.windowMs)
        : undefined;
    const kind = log ? 'n' : spec.kind === 'requests' ? 'r' : spec.kind === 'tokens' ? 't' : 'c';
    layout.args.push(kind, spec.limit, spec.windowMs);
    layout.kinds.push(kind);
    layout.keys.push({ scope: spec.scope, name: (log ?? spec).name, sum: kind === 'n' || kind === 't' });
  }
  layouts.set(specs, layout);
  return layout;
}

/**
 * Shared counters in Redis: one script call per tenant for the admissions made in the same turn of the
 * event loop, and one for its settlements. Under load a turn holds a dozen admissions or more, and one
 * call reads each window once for all of them. Lazy ones, of requests far from every limit whose reply
 * does not wait for them, are gathered over a flush interval instead: at one request at a time, a call
 * per request (a write, a reply and a wake-up) cost the gateway about a third of its CPU per request. A turn's calls leave in one socket write, since the
 * write (a system call, which also wakes Redis) costs more than building them. Settlements keep their
 * order: a call sends those made before it first, so this instance always counts with them.
 *
 * The connection should not auto-pipeline: ioredis then holds every command back while a pipeline's
 * replies are awaited, so an admission would wait for the settlements sent before it.
 */
export class RedisLimiterStore implements LimiterStore {
  readonly kind = 'redis' as const;
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #requestIdTtlMs: number;
  readonly #generatedRequestIdTtlMs: number;
  readonly #now: (() => number) | undefined;
  readonly #admit: ScriptRunner;
  readonly #settle: ScriptRunner;
  readonly #seed: ScriptRunner;
  readonly #peek: ScriptRunner;
  #pending: PendingSettlement[] = [];
  #admissions: PendingAdmission[] = [];
  #turnScheduled = false;
  readonly #flushIntervalMs: number;
  #flushTimer: NodeJS.Timeout | undefined;

  constructor(options: RedisLimiterStoreOptions) {
    this.#redis = options.redis;
    this.#prefix = options.keyPrefix;
    this.#requestIdTtlMs = options.requestIdTtlMs;
    this.#generatedRequestIdTtlMs = options.generatedRequestIdTtlMs ?? options.requestIdTtlMs;
    this.#now = options.now;
    this.#flushIntervalMs = options.flushIntervalMs ?? 0;
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

  /** Resolves once its batch is admitted; a batch that fails rejects each of its admissions. */
  admit(input: AdmitInput): Promise<AdmitOutcome> {
    return new Promise((resolve, reject) => {
      this.#admissions.push({ input, resolve, reject });
      if (input.lazy) this.#flushSoon();
      else this.#gatherTurn();
    });
  }

  /** Resolves once its batch is settled; a batch that fails rejects each of its settlements. */
  settle(input: SettleInput): Promise<SettleOutcome> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ input, resolve, reject });
      if (input.lazy) this.#flushSoon();
      else this.#gatherTurn();
    });
  }

  async seedQuota(tenantId: string, quota: QuotaSpec, base: { tokens: number; requests: number }): Promise<void> {
    this.#beforeCall();
    await this.#seed(1, this.#quotaKey(tenantId, quota.period), base.tokens, base.requests, quota.expiresAtMs, quota.tokenLimit, alertThresholds.length, ...alertThresholds);
  }

  async limitsVersion(tenantId: string): Promise<string> {
    return (await this.#redis.get(this.#limitsVersionKey(tenantId))) ?? '0';
  }

  async bumpLimitsVersion(tenantId: string): Promise<void> {
    this.#beforeCall();
    await this.#redis.incr(this.#limitsVersionKey(tenantId));
  }

  async readQuota(tenantId: string, period: string): Promise<QuotaUse> {
    this.#beforeCall();
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
    this.#beforeCall();
    // Two keys the script does not read, in the tenant's slot like the rest: a cluster refuses a call across slots.
    const unused = `${this.#prefix}rl:${this.#tag(tenantId)}:-`;
    const keys = [unused, unused, ...this.#specKeys({ tenantId, apiKeyId }, specs)];
    const reply = (await this.#peek(keys.length, ...keys, this.#now?.() ?? '', specs.length, ...layoutOf(specs).args)) as number[];
    return states(reply, 0);
  }

  sendHeld(): void {
    this.#gatherTurn();
  }

  /** Sends the settlements still waiting and waits for their replies. */
  async close(): Promise<void> {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#sendAdmissions();
    await this.#sendSettlements();
  }

  /** Settlements and admissions waiting go first, so a read sees them. */
  #beforeCall(): void {
    this.#gatherTurn();
    this.#sendSettlements();
    this.#sendAdmissions();
  }

  /** Sends what waits within the flush interval, or with this turn's writes if some are due sooner. */
  #flushSoon(): void {
    if (this.#turnScheduled || this.#flushTimer) return;
    if (this.#flushIntervalMs <= 0) return this.#gatherTurn();
    this.#flushTimer = setTimeout(() => this.#gatherTurn(), this.#flushIntervalMs);
    this.#flushTimer.unref();
  }

  /** Holds this turn's writes back (cork) and sends them, with the turn's settlements, at its end. */
  #gatherTurn(): void {
    if (this.#turnScheduled) return;
    this.#turnScheduled = true;
    // A cluster's calls go out over a socket per node, each written on its own: only one server's is corked.
    const stream = this.#redis instanceof Redis ? this.#redis.stream : undefined;
    const corked = stream?.writable === true;
    if (corked) stream.cork();
    setImmediate(() => {
      this.#turnScheduled = false;
      clearTimeout(this.#flushTimer);
      this.#flushTimer = undefined;
      this.#sendSettlements();
      this.#sendAdmissions();
      if (corked) stream.uncork();
    });
  }

  /** Resolves when every batch sent has its answer (each settlement's own promise says which). */
  #sendSettlements(): Promise<unknown> {
    const batches = byTenant(this.#pending);
    this.#pending = [];
    return Promise.all(batches.map((batch) => this.#settleBatch(batch)));
  }

  #sendAdmissions(): void {
    const batches = byTenant(this.#admissions);
    this.#admissions = [];
    for (const batch of batches) this.#admitBatch(batch);
  }

  #admitBatch(batch: PendingAdmission[]): void {
    const keys: string[] = [];
    const args: (string | number)[] = [this.#now?.() ?? '', batch.length, this.#requestIdTtl(batch)];
    for (const { input } of batch) {
      keys.push(this.#quotaKey(input.tenantId, input.quota.period), this.#requestIdKey(input.tenantId, input.requestId), ...this.#specKeys(input, input.specs));
      const quota = input.quota;
      args.push(input.admissionId, input.estimate, input.requireSeed ? 1 : 0, quota.tokenLimit, quota.hardTokens ? 1 : 0, quota.requestLimit, periodEnd(quota));
      args.push(input.specs.length, ...layoutOf(input.specs).args);
    }
    // The batch's limits version (see byTenant) goes last, after every admission's keys and arguments.
    const version = batch[0]!.input.limitsVersion;
    keys.push(this.#limitsVersionKey(batch[0]!.input.tenantId));
    args.push(version ?? '*');
    this.#admit(keys.length, ...keys, ...args).then(
      (reply) => {
        const values = reply as number[];
        if (values[0] === -1) {
          for (const { resolve } of batch) resolve({ status: 'stale' });
          return;
        }
        let at = 0;
        for (const { resolve } of batch) {
          const length = values[at]!;
          resolve(admitOutcome(values.slice(at + 1, at + 1 + length)));
          at += 1 + length;
        }
      },
      (error: unknown) => {
        for (const { reject } of batch) reject(error);
      },
    );
  }

  #settleBatch(batch: PendingSettlement[]): Promise<void> {
    const keys: string[] = [];
    const args: (string | number)[] = [this.#now?.() ?? '', batch.length, this.#requestIdTtl(batch), alertThresholds.length, ...alertThresholds];
    for (const { input } of batch) {
      keys.push(this.#quotaKey(input.tenantId, input.quota.period), this.#requestIdKey(input.tenantId, input.requestId), ...this.#specKeys(input, input.specs));
      args.push(input.admissionId, input.reserved, input.actual, input.quota.tokenLimit, input.unadmitted ? 1 : 0, input.specs.length);
      args.push(...layoutOf(input.specs).kinds);
    }
    return this.#settle(keys.length, ...keys, ...args).then(
      (reply) => {
        const values = reply as number[];
        let at = 0;
        for (const { resolve } of batch) {
          const crossedCount = values[at + 3]!;
          resolve({
            quota: { seeded: values[at] === 1, tokens: values[at + 1]!, requests: values[at + 2]! },
            crossed: values.slice(at + 4, at + 4 + crossedCount),
          });
          at += 4 + crossedCount;
        }
      },
      (error: unknown) => {
        for (const { reject } of batch) reject(error);
      },
    );
  }

  /** A batch's request ids are all the client's or all minted here (see byTenant). */
  #requestIdTtl(batch: { input: { requestIdGiven?: boolean } }[]): number {
    return batch[0]?.input.requestIdGiven ? this.#requestIdTtlMs : this.#generatedRequestIdTtlMs;
  }

  #tag(tenantId: string): string {
    return `{${tenantId}}`;
  }

  #quotaKey(tenantId: string, period: string): string {
    return `${this.#prefix}quota:${this.#tag(tenantId)}:${period}`;
  }

  #limitsVersionKey(tenantId: string): string {
    return `${this.#prefix}lv:${this.#tag(tenantId)}`;
  }

  #requestIdKey(tenantId: string, requestId: string): string {
    return `${this.#prefix}rid:${this.#tag(tenantId)}:${requestId}`;
  }

  #specKeys(input: { tenantId: string; apiKeyId: string | null }, specs: readonly LimitSpec[]): string[] {
    const keys: string[] = [];
    const tenant = `${this.#prefix}rl:${this.#tag(input.tenantId)}:`;
    for (const { scope, name, sum } of layoutOf(specs).keys) {
      const key = scope === 'key' ? `${tenant}k:${input.apiKeyId ?? ''}:${name}` : `${tenant}${name}`;
      keys.push(key);
      if (sum) keys.push(`${key}:sum`);
    }
    return keys;
  }
}

/**
 * Groups a turn's calls by tenant, at most maxPerCall to a group: a tenant's keys share a hash tag, so one
 * call stays within one cluster slot. Request ids the client sent go apart from those minted here, since
 * a call remembers all of its ids for one time, and admissions made with different limits versions
 * apart, since a call checks one.
 */
function byTenant<T extends { input: { tenantId: string; requestIdGiven?: boolean; limitsVersion?: string } }>(calls: T[]): T[][] {
  const groups = new Map<string, T[]>();
  for (const call of calls) {
    const { tenantId, requestIdGiven, limitsVersion } = call.input;
    const key = limitsVersion === undefined && !requestIdGiven ? tenantId : `${tenantId}\0${requestIdGiven ? 'given' : ''}\0${limitsVersion ?? ''}`;
    const group = groups.get(key);
    if (group) group.push(call);
    else groups.set(key, [call]);
  }
  const batches: T[][] = [];
  for (const group of groups.values()) {
    for (let i = 0; i < group.length; i += maxPerCall) batches.push(group.slice(i, i + maxPerCall));
  }
  return batches;
}

function admitOutcome(reply: number[]): AdmitOutcome {
  if (reply[0] === 0) return { status: 'unseeded' };
  if (reply[0] === 1) {
    return { status: 'admitted', quota: { seeded: reply[1] === 1, tokens: reply[2]!, requests: reply[3]! }, repeated: reply[4] === 1, states: states(reply, 5) };
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

function states(reply: number[], from: number): LimitState[] {
  const out: LimitState[] = [];
  for (let i = from; i + 2 < reply.length; i += 3) {
    out.push({ limit: reply[i]!, remaining: reply[i + 1]!, resetMs: reply[i + 2]! });
  }
  return out;
}
