import type { Config } from './config.ts';
import { ApiKeyService } from './modules/api-key/index.ts';
import { AuditService } from './modules/audit/index.ts';
import { createLocalRevocationBus, createRedisRevocationBus, type RevocationBus } from './modules/api-key/index.ts';
import { PlanService } from './modules/plan/index.ts';
import { listTenantIdsOnPlan } from './modules/tenant/index.ts';
import { TenantService } from './modules/tenant/index.ts';
import type { Logger } from './shared/logger.ts';
import { describeRedisUrl, openRedis, parseRedisUrl, type RedisClient } from './storage/redis-connection.ts';
import { openSqlDatabase, type SqlDatabase, type SqlDatabaseHandle } from './storage/sql-database.ts';
import { migrateSql } from './storage/sql-migrations.ts';

// The first steps of the composition root, shared by createDeps (deps.ts) and the admin CLI, which
// imports only these so a command starts without loading the request path.

/** What the admin CLI acts through: the same account services as the server's, on the same stores. */
export interface AdminDeps {
  db: SqlDatabaseHandle;
  tenants: TenantService;
  apiKeys: ApiKeyService;
  plans: PlanService;
  close(): Promise<void>;
}

/**
 * The admin CLI's part of the composition root: the database, the revocation bus and the account
 * services, built by the same functions as createDeps. Running gateways hear of a suspension or a
 * revoked key over Redis; plan limits they read afresh within their limits cache's freshness.
 */
export async function createAdminDeps(config: Config, logger: Logger): Promise<AdminDeps> {
  return withClosers(logger, async (onClose, close) => {
    const db = await openDatabase(config, logger, onClose);
    const redis = await openRedisIfSet(config, logger, onClose);
    const revocations = await openRevocations(redis, logger, onClose);
    const { tenants, apiKeys, plans } = createAccountServices(db.db, revocations, undefined, logger);
    return { db, tenants, apiKeys, plans, close };
  });
}

export type OnClose = (closer: () => unknown) => void;

/** Runs `build` with a list of closers: closed in reverse order by the returned close(), or at once if `build` fails. */
export async function withClosers<T>(logger: Logger, build: (onClose: OnClose, close: () => Promise<void>) => Promise<T>): Promise<T> {
  const closers: Array<() => unknown> = [];
  const close = async () => {
    for (const closer of closers.splice(0).reverse()) {
      try {
        await closer();
      } catch (error) {
        logger.warn({ err: error }, 'error while closing');
      }
    }
  };
  try {
    return await build((closer) => closers.push(closer), close);
  } catch (error) {
    await close();
    throw error;
  }
}

export async function openDatabase(config: Config, logger: Logger, onClose: OnClose): Promise<SqlDatabaseHandle> {
  const { storage } = config;
  const db = await openSqlDatabase({ databaseUrl: storage.databaseUrl, dataDir: storage.dataDir, inMemory: storage.embeddedDatabase === 'memory' });
  onClose(() => db.db.destroy());
  const applied = await migrateSql(db.db);
  logger.info({ database: db.location, applied }, applied.length ? 'database migrated' : 'database schema up to date');
  return db;
}

export async function openRedisIfSet(config: Config, logger: Logger, onClose: OnClose): Promise<RedisClient | undefined> {
  if (!config.storage.redisUrl) return undefined;
  const redis = await connectRedis(config.storage.redisUrl, logger);
  onClose(() => redis.quit());
  return redis;
}

export async function openRevocations(redis: RedisClient | undefined, logger: Logger, onClose: OnClose): Promise<RevocationBus> {
  const revocations = redis ? await createRedisRevocationBus(redis, logger) : createLocalRevocationBus();
  onClose(() => revocations.close());
  return revocations;
}

/** Tenants, keys, plans and the audit log; `limitsChanged` announces a tenant's new limits, when there is a limits service. */
export function createAccountServices(db: SqlDatabase, revocations: RevocationBus, limitsChanged: ((tenantId: string) => Promise<void>) | undefined, logger: Logger) {
  // A plan edit reaches every tenant on the plan, on this instance and (through the broadcast) the others.
  const plans = new PlanService(db, limitsChanged && ((planId) => {
    listTenantIdsOnPlan(db, planId)
      .then((ids) => Promise.all(ids.map(limitsChanged)))
      .catch((error: unknown) => logger.warn({ err: error, planId }, 'could not announce a plan change; limits refresh within seconds'));
  }));
  const tenants = new TenantService(db, {
    planChanged: limitsChanged,
    statusChanged: (tenantId) => revocations.publishTenant(tenantId),
  });
  return { audit: new AuditService(db), plans, tenants, apiKeys: new ApiKeyService({ db, revocations }) };
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
