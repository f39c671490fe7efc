import type { ClickHouseClient } from '@clickhouse/client';
import type { Config } from './config.ts';
import { createClickhouse, databaseFromUrl } from './clickhouse/client.ts';
import { clickhouseMigrationsDir, migrateClickhouse } from './clickhouse/migrate.ts';
import { ApiKeyService } from './modules/api-key/api-key.service.ts';
import { AuthService } from './modules/auth/auth.service.ts';
import { ConsoleSessionService } from './modules/console-session/console-session.service.ts';
import { ConsoleSso } from './modules/console-session/console-sso.ts';
import { createLocalRevocationBus, createRedisRevocationBus, type RevocationBus } from './modules/auth/revocation-bus.ts';
import { TenantService } from './modules/tenant/tenant.service.ts';
import { listTenantIdsOnPlan } from './modules/tenant/tenant.repository.ts';
import { PlanService } from './modules/plan/plan.service.ts';
import { CompletionService } from './modules/completion/completion.service.ts';
import { createResponseCache } from './modules/completion/response-cache-levels.ts';
import { PriceBook } from './modules/pricing/price-book.ts';
import { PromptTemplateService } from './modules/prompt-template/prompt-template.service.ts';
import { ModelPriceService } from './modules/pricing/model-price.service.ts';
import { BudgetGate } from './modules/budget/budget-gate.ts';
import type { BudgetService } from './modules/budget/budget.service.ts';
import { createRouter, type Router } from './router/router.ts';
import { warmTokenizer } from './providers/token-estimator.ts';
import { hostname } from 'node:os';
import { AuditService } from './modules/audit/audit.service.ts';
import { InferenceConfigService } from './modules/inference-config/inference-config.service.ts';
import { startUsage, type UsageRuntime } from './modules/usage/usage-runtime.ts';
import type { BillingService } from './modules/billing/billing.service.ts';
import { startLimits, type LimitsRuntime } from './modules/limits/limits-runtime.ts';
import type { LimitsService } from './modules/limits/limits.service.ts';
import type { QuotaService } from './modules/quota/quota.service.ts';
import { UsageService } from './modules/usage/usage.service.ts';
import { loadSecretBox } from './shared/secret-keyring.ts';
import type { Logger } from './shared/logger.ts';
import { createTelemetry, type Telemetry } from './observability/telemetry.ts';
import { openSqlDatabase, redactUrl, type SqlDatabaseHandle } from './storage/sql-database.ts';
import { describeRedisUrl, openRedis, parseRedisUrl, type RedisClient } from './storage/redis-connection.ts';
import { migrateSql } from './storage/sql-migrations.ts';

/** Everything a request may need, created once per process and closed on shutdown. */
export interface AppDeps {
  config: Config;
  logger: Logger;
  db: SqlDatabaseHandle;
  /** One Redis or a Redis Cluster (REDIS_URL=redis+cluster://...). */
  redis: RedisClient | undefined;
  clickhouse: ClickHouseClient | undefined;
  auth: AuthService;
  /** API key revocations and rotations, heard by every instance (Redis pub/sub, or in-process). */
  revocations: RevocationBus;
  /** Web console sign-in: sessions behind a short-lived signed cookie. */
  consoleSessions: ConsoleSessionService;
  services: Services;
  /** Chooses deployments, retries, fails over and breaks circuits for every completion. */
  router: Router;
  /** Model prices from the YAML price book. */
  prices: PriceBook;
  /** The usage meter (record one event per request) and the store behind it (ClickHouse, else the SQL database). */
  usage: UsageRuntime;
  /** Prometheus metrics, the request log, and traces when an OTLP endpoint is set. */
  telemetry: Telemetry;
  /** Rate limits, quotas and billing: the completions' request gate and the GraphQL rate limit. */
  limits: LimitsRuntime;
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
  promptTemplates: PromptTemplateService;
}

export async function createDeps(config: Config, logger: Logger): Promise<AppDeps> {
  const db = await openSqlDatabase({
    databaseUrl: config.storage.databaseUrl,
    dataDir: config.storage.dataDir,
    inMemory: config.storage.embeddedDatabase === 'memory',
  });
  try {
    const applied = await migrateSql(db.db);
    logger.info({ database: db.location, applied }, applied.length ? 'database migrated' : 'database schema up to date');
    const secrets = loadSecretBox({
      secret: config.auth.secret,
      previousSecrets: config.auth.previousSecrets,
      dataDir: config.storage.dataDir,
      sharedDatabase: config.storage.databaseUrl !== undefined,
    });
    for (const warning of secrets.warnings) logger.warn(warning);
    logger.info({ source: secrets.source, keyId: secrets.box.currentKeyId }, 'provider credential key loaded');
    const inferenceConfig = new InferenceConfigService({
      db: db.db,
      secretBox: secrets.box,
      inference: config.inference,
      logger,
      outageGraceMs: config.storage.databaseOutageGraceMs,
    });
    await inferenceConfig.logKeyReport();
    const redis = config.storage.redisUrl ? await connectRedis(config.storage.redisUrl, logger) : undefined;
    const clickhouse = config.storage.clickhouseUrl ? await openClickhouse(config.storage.clickhouseUrl, config.storage.clickhouseCluster, logger) : undefined;
    const revocations = redis ? await createRedisRevocationBus(redis, logger) : createLocalRevocationBus();
    const auth = new AuthService({
      adminKey: config.auth.adminKey,
      db: db.db,
      logger,
      jwt: config.auth,
      revocations,
      outageGraceMs: config.storage.databaseOutageGraceMs,
    });
    const telemetry = await createTelemetry(config, logger);
    const usage = await startUsage({
      config: config.usage,
      dataDir: config.storage.dataDir,
      logger,
      db,
      clickhouse,
      clickhouseCluster: config.storage.clickhouseCluster,
      tracing: telemetry.tracing,
    });
    const router = createRouter({ inference: config.inference, logger, observer: telemetry, tracing: telemetry.tracing });
    telemetry.metrics.bind({
      deployments: () => router.health(),
      usage: () => usage.meter.stats(),
      modelKnown: (name) => router.models().some((model) => model.name === name),
    });
    const prices = new PriceBook(config.inference.models);
    const limits = await startLimits({
      config: config.limits,
      logger,
      db,
      redis,
      usage,
      prices,
      models: () => config.inference.models,
      registry: telemetry.metrics.registry,
      outageGraceMs: config.storage.databaseOutageGraceMs,
    });
    inferenceConfig.shareChangesOver(limits.broadcast);
    const modelPrices = await ModelPriceService.start({ db: db.db, prices, models: () => config.inference.models, broadcast: limits.broadcast, logger });
    await warmTokenizer();
    const completions = new CompletionService({
      router,
      prices,
      meter: usage.meter,
      gate: new BudgetGate(limits.gate, limits.budgets, prices, logger),
      defaultMaxTokens: config.limits.defaultMaxTokens,
      cache: createResponseCache(config.cache, { redis, db: db.db, logger }),
      routingPrefs: (tenantId) => inferenceConfig.routingPrefs(tenantId),
      node: `${hostname()}:${process.pid}`,
      logger,
      observer: telemetry,
      tracing: telemetry.tracing,
    });
    // A plan edit reaches every tenant on the plan, on this instance and (through the limits bus) the others.
    const plans = new PlanService(db.db, (planId) => {
      listTenantIdsOnPlan(db.db, planId)
        .then((ids) => Promise.all(ids.map((id) => limits.service.changed(id))))
        .catch((error: unknown) => logger.warn({ err: error, planId }, 'could not announce a plan change; limits refresh within seconds'));
    });
    const services: Services = { plans, completions, tenants: new TenantService(db.db, {
        planChanged: (tenantId) => limits.service.changed(tenantId),
        statusChanged: (tenantId) => revocations.publishTenant(tenantId),
      }), inferenceConfig, audit: new AuditService(db.db), apiKeys: new ApiKeyService({ db: db.db, revocations }), limits: limits.service, quota: limits.quota, billing: limits.billing, budgets: limits.budgets, modelPrices, usage: new UsageService(usage.store), promptTemplates: new PromptTemplateService(db.db) };
    const { oidc } = config;
    const sso = oidc.issuer && oidc.clientId ? new ConsoleSso({ issuer: oidc.issuer, clientId: oidc.clientId, clientSecret: oidc.clientSecret, tenantClaim: oidc.tenantClaim, roleClaim: oidc.roleClaim, logger }) : undefined;
    const consoleSessions = new ConsoleSessionService({ db: db.db, auth, secret: config.auth.secret, sso });
    return { config, logger, db, redis, clickhouse, auth, revocations, consoleSessions, services, router, prices, usage, telemetry, limits };
  } catch (error) {
    await db.db.destroy();
    throw error;
  }
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

async function connectRedis(url: string, logger: Logger): Promise<RedisClient> {
  const redis = openRedis(parseRedisUrl(url), { maxRetriesPerRequest: 2, enableOfflineQueue: true });
  // While Redis is away ioredis reconnects on its own; each failed attempt is logged, not thrown.
  let lastWarning = 0;
  redis.on('error', (error: Error) => {
    if (Date.now() - lastWarning < 10_000) return;
    lastWarning = Date.now();
    logger.warn({ err: error, redis: describeRedisUrl(url) }, 'Redis connection error; reconnecting');
  });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw new Error(`cannot connect to Redis at ${describeRedisUrl(url)}: ${(error as Error).message}`, { cause: error });
  }
  return redis;
}

export async function closeDeps(deps: AppDeps): Promise<void> {
  // Pending API key last-use times are written before the database closes.
  // Usage events are flushed too (or left spooled for the next start) while the stores are still open.
  deps.services.modelPrices.close();
  await Promise.allSettled([deps.auth.close(), deps.revocations.close(), deps.router.close(), deps.usage.close(), deps.limits.close()]);
  await deps.telemetry.tracing?.shutdown();
  await Promise.allSettled([
    deps.db.db.destroy(),
    deps.redis?.quit(),
    deps.clickhouse?.close(),
  ]);
}
