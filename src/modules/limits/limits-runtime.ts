import type { Plugin } from 'graphql-yoga';
import type { Registry } from 'prom-client';
import type { LimitsConfig, ModelConfig } from '../../config.ts';
import { createLocalBroadcast, createRedisBroadcast, type Broadcast } from '../../shared/broadcast.ts';
import type { Logger } from '../../shared/logger.ts';
import { duplicateRedis, type RedisClient } from '../../storage/redis-connection.ts';
import type { SqlDatabaseHandle } from '../../storage/sql-database.ts';
import { BillingService } from '../billing/billing.service.ts';
import { MemoryBudgetLedger, RedisBudgetLedger } from '../budget/budget-ledger.ts';
import { BudgetService } from '../budget/budget.service.ts';
import type { PriceBook } from '../pricing/price-book.ts';
import { decimalToMicros } from '../pricing/money.ts';
import { QuotaEvents } from '../quota/quota-events.ts';
import { QuotaService } from '../quota/quota.service.ts';
import { QuotaAlertOutbox } from '../quota/quota-alert-outbox.ts';
import { QuotaWebhook } from '../quota/quota-webhook.ts';
import type { UsageRuntime } from '../usage/usage-runtime.ts';
import { graphqlRateLimitPlugin } from './graphql-rate-limit.ts';
import type { LimiterStore } from './limiter-store.ts';
import { LimitsDirectory } from './limits-directory.ts';
import { LimitsGate } from './limits-gate.ts';
import { LimitsMetrics } from './limits-metrics.ts';
import { LimitsService } from './limits.service.ts';
import { MemoryLimiterStore } from './memory-limiter-store.ts';
import { RedisLimiterStore } from './redis-limiter-store.ts';

/** Rate limits, quotas and billing, wired once per process. */
export interface LimitsRuntime {
  /** The completion service's RequestGate. */
  gate: LimitsGate;
  service: LimitsService;
  quota: QuotaService;
  billing: BillingService;
  /** Money budgets: the completion service's gate wraps `gate` with them. */
  budgets: BudgetService;
  store: LimiterStore;
  /** @envelop/rate-limiter for the control plane's own operations, per principal. */
  graphqlPlugin: Plugin;
  /** Messages every instance hears (limit and plan changes here; other services may share it). */
  broadcast: Broadcast;
  close(): Promise<void>;
}

export interface LimitsRuntimeOptions {
  config: LimitsConfig;
  logger: Logger;
  db: SqlDatabaseHandle;
  /** Shared counters and pub/sub when set; in-process otherwise. */
  redis: RedisClient | undefined;
  usage: Pick<UsageRuntime, 'store' | 'meter'>;
  prices: PriceBook;
  models: () => readonly ModelConfig[];
  /** The app's metrics registry. */
  registry: Registry | undefined;
  /** While the database is unreachable, cached limits up to this old are still applied. */
  outageGraceMs?: number;
}

export async function startLimits(options: LimitsRuntimeOptions): Promise<LimitsRuntime> {
  const { config, logger } = options;
  const metrics = new LimitsMetrics(options.registry);
  // The limiter's own connection fails fast: no offline queue, no retries, a short timeout, so a Redis
  // outage costs a request milliseconds before it fails open (or closed). No auto-pipelining: ioredis
  // holds every command back while a pipeline's replies are awaited, so an admission waited for the
  // settlement sent before it; the store gathers a turn's calls into one write itself.
  const limiterRedis = options.redis && duplicateRedis(options.redis, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: config.redisTimeoutMs,
    enableAutoPipelining: false,
    retryStrategy: (times: number) => Math.min(100 * times, 1_000),
  });
  if (limiterRedis) {
    limiterRedis.on('error', (error: Error) => logger.debug({ err: error }, 'limits: Redis connection error'));
    await limiterRedis.connect();
  }
  const store: LimiterStore = limiterRedis
    ? new RedisLimiterStore({
        redis: limiterRedis,
        keyPrefix: config.keyPrefix,
        requestIdTtlMs: config.requestIdTtlMs,
        generatedRequestIdTtlMs: config.generatedRequestIdTtlMs,
        flushIntervalMs: config.flushIntervalMs,
      })
    : new MemoryLimiterStore({ requestIdTtlMs: config.requestIdTtlMs, generatedRequestIdTtlMs: config.generatedRequestIdTtlMs });
  let broadcast: Broadcast;
  try {
    broadcast = options.redis ? await createRedisBroadcast(options.redis, logger, `${config.keyPrefix}bus:`) : createLocalBroadcast(logger);
  } catch (error) {
    limiterRedis?.disconnect();
    throw error;
  }
  const directory = new LimitsDirectory({
    db: options.db.db,
    freshMs: config.cacheMs,
    concurrencyLeaseMs: config.concurrencyLeaseMs,
    outageGraceMs: options.outageGraceMs,
    version: (tenantId) => store.limitsVersion(tenantId),
  });
  const events = new QuotaEvents(broadcast);
  const webhook = config.quotaWebhookUrl
    ? new QuotaWebhook({ url: config.quotaWebhookUrl, secret: config.quotaWebhookSecret ?? '', outbox: new QuotaAlertOutbox(options.db.db), logger, metrics })
    : undefined;
  const quota = new QuotaService({ store, directory, usage: options.usage, events, webhook, logger, metrics });
  const service = new LimitsService({ db: options.db.db, directory, store, broadcast, logger });
  await broadcast.ready();
  const gate = new LimitsGate({ directory, store, quota, logger, metrics, earlyStart: config.earlyStart && store.kind === 'redis', earlyAnswer: config.earlyAnswer });
  const billing = new BillingService({
    db: options.db.db,
    usage: options.usage.store,
    prices: options.prices,
    models: options.models,
    defaultMaxTokens: config.defaultMaxTokens,
    defaultCostBasis: { perMillionMicros: decimalToMicros(config.costBasis.perMillion), currency: config.costBasis.currency },
  });
  const budgets = new BudgetService({
    db: options.db.db,
    ledger: limiterRedis ? new RedisBudgetLedger(limiterRedis) : new MemoryBudgetLedger(),
    keyPrefix: config.keyPrefix,
    usage: options.usage.store,
    broadcast,
    webhook,
    logger,
  });
  await budgets.load();
  const graphqlPlugin = graphqlRateLimitPlugin({ perMinute: config.graphqlPerMinute, redis: limiterRedis, keyPrefix: config.keyPrefix, logger, metrics });
  return {
    gate,
    service,
    quota,
    billing,
    budgets,
    store,
    graphqlPlugin,
    broadcast,
    close: async () => {
      await gate.close();
      service.close();
      events.close();
      budgets.close();
      await webhook?.close();
      await store.close();
      await broadcast.close();
      await limiterRedis?.quit().catch(() => limiterRedis.disconnect());
    },
  };
}
