import type { ClickHouseClient } from '@clickhouse/client';
import type { Plugin } from 'graphql-yoga';
import { hostname } from 'node:os';
import type { Config, InferenceConfigFile } from './config.ts';
import { createClickhouse, databaseFromUrl } from './clickhouse/client.ts';
import { clickhouseMigrationsDir, migrateClickhouse } from './clickhouse/migrate.ts';
import { LiveInferenceConfig } from './live-inference-config.ts';
import type { ApiKeyService } from './modules/api-key/index.ts';
import type { AuditService } from './modules/audit/index.ts';
import { AuthService } from './modules/auth/index.ts';
import type { RevocationBus } from './modules/api-key/index.ts';
import { BillingService } from './modules/billing/index.ts';
import { BudgetGate } from './modules/budget/index.ts';
import { MemoryBudgetLedger, RedisBudgetLedger } from './modules/budget/index.ts';
import { BudgetService } from './modules/budget/index.ts';
import { CompletionService } from './modules/completion/index.ts';
import { createResponseCache } from './modules/completion/index.ts';
import { ConsoleSessionService } from './modules/console-session/index.ts';
import { ConsoleSso } from './modules/console-session/index.ts';
import { ExperimentService } from './modules/experiment/index.ts';
import { FeedbackService } from './modules/feedback/index.ts';
import { InferenceConfigService } from './modules/inference-config/index.ts';
import { graphqlRateLimitPlugin } from './modules/limits/index.ts';
import type { LimiterStore } from './modules/limits/index.ts';
import { LimitsDirectory } from './modules/limits/index.ts';
import { LimitsGate } from './modules/limits/index.ts';
import { LimitsMetrics } from './modules/limits/index.ts';
import { LimitsService } from './modules/limits/index.ts';
import { openLimiterStore } from './modules/limits/index.ts';
import type { PlanService } from './modules/plan/index.ts';
import { ModelPriceService } from './modules/pricing/index.ts';
import { decimalToMicros } from './modules/pricing/index.ts';
import { PriceBook } from './modules/pricing/index.ts';
import { PromptTemplateService } from './modules/prompt-template/index.ts';
import { QuotaAlertOutbox } from './modules/quota/index.ts';
import { QuotaEvents } from './modules/quota/index.ts';
import { QuotaService } from './modules/quota/index.ts';
import { QuotaWebhook } from './modules/quota/index.ts';
import type { TenantService } from './modules/tenant/index.ts';
import { openUsageStore } from './modules/usage/index.ts';
import { UsageDeadLetters } from './modules/usage/index.ts';
import { UsageMeter } from './modules/usage/index.ts';
import { scheduleUsageRetention } from './modules/usage/index.ts';
import type { UsageStore } from './modules/usage/index.ts';
import { UsageService } from './modules/usage/index.ts';
import { createTelemetry, type Telemetry } from './observability/telemetry.ts';
import { createRouter, type Router } from './router/router.ts';
import { createLocalBroadcast, createRedisBroadcast, type Broadcast } from './shared/broadcast.ts';
import type { Logger } from './shared/logger.ts';
import { loadSecretBox } from './shared/secret-keyring.ts';
import type { RedisClient } from './storage/redis-connection.ts';
import { redactUrl, type SqlDatabaseHandle } from './storage/sql-database.ts';
import { createAccountServices, openDatabase, openRedisIfSet, openRevocations, withClosers, type OnClose } from './base-deps.ts';
import { join } from 'node:path';

/** Everything a request may need, created once per process by createDeps and closed by closeDeps. */
export interface AppDeps {
  config: Config;
  /** The inference config in force (providers, models, routing); `reloadInference` swaps it. */
  inference: LiveInferenceConfig;
  /** Applies a new inference config file everywhere at once: the snapshot, the router and the prices. */
  reloadInference(file: InferenceConfigFile): void;
  logger: Logger;
  db: SqlDatabaseHandle;
  /** One Redis or a Redis Cluster (REDIS_URL=redis+cluster://...). */
  redis: RedisClient | undefined;
  clickhouse: ClickHouseClient | undefined;
  /** Messages every instance hears (limit, plan, price, budget and inference config changes). */
  broadcast: Broadcast;
  /** API key revocations and rotations, heard by every instance (Redis pub/sub, or in-process). */
  revocations: RevocationBus;
  /** Prometheus metrics, the request log, and traces when an OTLP endpoint is set. */
  telemetry: Telemetry;
  /** Where usage events are stored (ClickHouse, else the SQL database) and read back from. */
  usageStore: UsageStore;
  /** Records one event per request and delivers it to the usage store exactly once. */
  usageMeter: UsageMeter;
  /** Chooses deployments, retries, fails over and breaks circuits for every completion. */
  router: Router;
  /** Model prices from the YAML price book. */
  prices: PriceBook;
  /** Rate and quota counters shared by every instance (Redis), or this process's own. */
  limiterStore: LimiterStore;
  /** @envelop/rate-limiter for the control plane's own operations, per principal. */
  graphqlRateLimit: Plugin;
  auth: AuthService;
  /** Web console sign-in: sessions behind a short-lived signed cookie. */
  consoleSessions: ConsoleSessionService;
  services: Services;
  /** Closes everything createDeps opened, the last opened first. */
  close(): Promise<void>;
}

export interface Services {
  completions: CompletionService;
  tenants: TenantService;
  inferenceConfig: InferenceConfigService;
  audit: AuditService;
  apiKeys: ApiKeyService;
  limits: LimitsService;
  quota: QuotaService;
  billing: BillingService;
  usage: UsageService;
  plans: PlanService;
  budgets: BudgetService;
  modelPrices: ModelPriceService;
  experiments: ExperimentService;
  feedback: FeedbackService;
  promptTemplates: PromptTemplateService;
}

/**
 * The composition root: builds every store and service once, in dependency order. The server and the
 * admin CLI both call it, so every rule, announcement and audit row applies to both.
 */
export async function createDeps(config: Config, logger: Logger): Promise<AppDeps> {
  return withClosers(logger, (onClose, close) => build(config, logger, onClose, close));
}

async function build(config: Config, logger: Logger, onClose: OnClose, close: () => Promise<void>): Promise<AppDeps> {
  const { storage, limits: limitsConfig } = config;

  // Stores and buses.
  const db = await openDatabase(config, logger, onClose);
  const secrets = loadSecretBox({
    secret: config.auth.secret,
    previousSecrets: config.auth.previousSecrets,
    dataDir: storage.dataDir,
    sharedDatabase: storage.databaseUrl !== undefined,
  });
  for (const warning of secrets.warnings) logger.warn(warning);
  logger.info({ source: secrets.source, keyId: secrets.box.currentKeyId }, 'provider credential key loaded');
  const redis = await openRedisIfSet(config, logger, onClose);
  const clickhouse = storage.clickhouseUrl ? await openClickhouse(storage.clickhouseUrl, storage.clickhouseCluster, logger) : undefined;
  if (clickhouse) onClose(() => clickhouse.close());
  const telemetry = await createTelemetry(config, logger);
  onClose(() => telemetry.tracing?.shutdown());
  const broadcast = redis ? await createRedisBroadcast(redis, logger, `${limitsConfig.keyPrefix}bus:`) : createLocalBroadcast(logger);
  onClose(() => broadcast.close());
  const revocations = await openRevocations(redis, logger, onClose);

  // The inference config in force, and what is derived from it.
  const inference = new LiveInferenceConfig(config.inference);
  const router = createRouter({ inference: config.inference, logger, observer: telemetry, tracing: telemetry.tracing });
  onClose(() => router.close());
  const prices = new PriceBook(config.inference.models);
  const reloadInference = (file: InferenceConfigFile) => {
    inference.replace(file);
    router.reload(file);
    prices.reload(file.models);
  };
  const models = () => inference.current().models;

  // Usage: the store, and the meter that delivers each request's event to it.
  const usageStore = await openUsageStore({ config: config.usage, logger, db, clickhouse, clickhouseCluster: storage.clickhouseCluster });
  const usageMeter = await UsageMeter.open({
    store: usageStore,
    deadLetters: new UsageDeadLetters(db.db),
    spoolDir: join(storage.dataDir, 'spool', 'usage'),
    logger,
    flushIntervalMs: config.usage.flushIntervalMs,
    batchSize: config.usage.batchSize,
    insertIntervalMs: config.usage.insertIntervalMs,
    maxQueued: config.usage.maxQueued,
    spoolMaxBytes: config.usage.spoolMaxBytes,
    insertTimeoutMs: config.usage.insertTimeoutMs,
    closeTimeoutMs: config.usage.closeTimeoutMs,
    tracing: telemetry.tracing,
  });
  // Flushed (or left spooled for the next start) while the stores are still open.
  onClose(() => usageMeter.close());
  onClose(scheduleUsageRetention(usageStore, logger));
  telemetry.metrics.bind({
    deployments: () => router.health(),
    usage: () => usageMeter.stats(),
    modelKnown: (name) => router.models().some((model) => model.name === name),
  });

  // Limits, quotas, budgets and billing.
  const limitsMetrics = new LimitsMetrics(telemetry.metrics.registry);
  const limiter = await openLimiterStore(limitsConfig, redis, logger);
  onClose(() => limiter.redis?.quit().catch(() => limiter.redis?.disconnect()));
  onClose(() => limiter.store.close());
  const directory = new LimitsDirectory({
    db: db.db,
    freshMs: limitsConfig.cacheMs,
    concurrencyLeaseMs: limitsConfig.concurrencyLeaseMs,
    outageGraceMs: storage.databaseOutageGraceMs,
    version: (tenantId) => limiter.store.limitsVersion(tenantId),
  });
  const quotaEvents = new QuotaEvents(broadcast);
  onClose(() => quotaEvents.close());
  const webhook = limitsConfig.quotaWebhookUrl
    ? new QuotaWebhook({ url: limitsConfig.quotaWebhookUrl, secret: limitsConfig.quotaWebhookSecret ?? '', outbox: new QuotaAlertOutbox(db.db), logger, metrics: limitsMetrics })
    : undefined;
  if (webhook) onClose(() => webhook.close());
  const quota = new QuotaService({ store: limiter.store, directory, usage: { store: usageStore, meter: usageMeter }, events: quotaEvents, webhook, logger, metrics: limitsMetrics });
  const limits = new LimitsService({ db: db.db, directory, store: limiter.store, broadcast, logger });
  onClose(() => limits.close());
  await broadcast.ready();
  const limitsGate = new LimitsGate({
    directory,
    store: limiter.store,
    quota,
    logger,
    metrics: limitsMetrics,
    earlyStart: limitsConfig.earlyStart && limiter.store.kind === 'redis',
    earlyAnswer: limitsConfig.earlyAnswer,
  });
  // Waits for settlements to reach the limiter store, so it closes before the store does.
  onClose(() => limitsGate.close());
  const budgets = new BudgetService({
    db: db.db,
    ledger: limiter.redis ? new RedisBudgetLedger(limiter.redis) : new MemoryBudgetLedger(),
    keyPrefix: limitsConfig.keyPrefix,
    usage: usageStore,
    broadcast,
    webhook,
    logger,
  });
  await budgets.load();
  onClose(() => budgets.close());
  const billing = new BillingService({
    db: db.db,
    usage: usageStore,
    prices,
    models,
    defaultMaxTokens: limitsConfig.defaultMaxTokens,
    defaultCostBasis: { perMillionMicros: decimalToMicros(limitsConfig.costBasis.perMillion), currency: limitsConfig.costBasis.currency },
  });
  const graphqlRateLimit = graphqlRateLimitPlugin({ perMinute: limitsConfig.graphqlPerMinute, redis: limiter.redis, keyPrefix: limitsConfig.keyPrefix, logger, metrics: limitsMetrics });

  // The control plane.
  const { audit, plans, tenants, apiKeys } = createAccountServices(db.db, revocations, (tenantId) => limits.changed(tenantId), logger);
  const inferenceConfig = new InferenceConfigService({
    db: db.db,
    secretBox: secrets.box,
    inference: () => inference.current(),
    broadcast,
    logger,
    outageGraceMs: storage.databaseOutageGraceMs,
  });
  await inferenceConfig.logKeyReport();
  const modelPrices = await ModelPriceService.start({ db: db.db, prices, models, broadcast, logger });
  onClose(() => modelPrices.close());
  const auth = new AuthService({
    adminKey: config.auth.adminKey,
    db: db.db,
    logger,
    jwt: config.auth,
    revocations,
    outageGraceMs: storage.databaseOutageGraceMs,
  });
  // Pending API key last-use times are written before the database closes.
  onClose(() => auth.close());
  const { oidc } = config;
  const sso = oidc.issuer && oidc.clientId
    ? new ConsoleSso({ issuer: oidc.issuer, clientId: oidc.clientId, clientSecret: oidc.clientSecret, tenantClaim: oidc.tenantClaim, roleClaim: oidc.roleClaim, logger })
    : undefined;
  const consoleSessions = new ConsoleSessionService({ db: db.db, auth, secret: config.auth.secret, sso });

  // The data plane.
  const experiments = await ExperimentService.start({ db: db.db, broadcast, logger, isModel: (name) => router.routable(name), store: usageStore });
  onClose(() => experiments.close());
  const completions = new CompletionService({
    router,
    prices,
    meter: usageMeter,
    gate: new BudgetGate(limitsGate, budgets, prices, logger),
    defaultMaxTokens: limitsConfig.defaultMaxTokens,
    cache: createResponseCache(config.cache, { redis, db: db.db, logger }),
    routingPrefs: (tenantId) => inferenceConfig.routingPrefs(tenantId),
    experiments,
    node: `${hostname()}:${process.pid}`,
    logger,
    observer: telemetry,
    tracing: telemetry.tracing,
  });

  const services: Services = {
    completions,
    tenants,
    inferenceConfig,
    audit,
    apiKeys,
    limits,
    quota,
    billing,
    usage: new UsageService(usageStore),
    plans,
    budgets,
    modelPrices,
    experiments,
    feedback: new FeedbackService({ store: usageStore, flushUsage: () => usageMeter.flush() }),
    promptTemplates: new PromptTemplateService(db.db),
  };
  return {
    config,
    inference,
    reloadInference,
    logger,
    db,
    redis,
    clickhouse,
    broadcast,
    revocations,
    telemetry,
    usageStore,
    usageMeter,
    router,
    prices,
    limiterStore: limiter.store,
    graphqlRateLimit,
    auth,
    consoleSessions,
    services,
    close,
  };
}

async function openClickhouse(url: string, clusterName: string | undefined, logger: Logger): Promise<ClickHouseClient> {
  const clickhouse = createClickhouse(url, { cluster: clusterName !== undefined });
  try {
    const cluster = clusterName === undefined ? undefined : { name: clusterName, database: databaseFromUrl(url) };
    const applied = await migrateClickhouse(clickhouse, clickhouseMigrationsDir, undefined, cluster);
    logger.info({ clickhouse: redactUrl(url), cluster: clusterName, applied }, applied.length ? 'clickhouse migrated' : 'clickhouse schema up to date');
  } catch (error) {
    await clickhouse.close();
    throw new Error(`cannot prepare ClickHouse at ${redactUrl(url)}: ${(error as Error).message}`, { cause: error });
  }
  return clickhouse;
}
