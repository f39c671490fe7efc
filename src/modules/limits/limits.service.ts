import type { Broadcast } from '../../shared/broadcast.ts';
import { badInput, notFound } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import type { SqlDatabase } from '../../storage/sql-database.ts';
import { findApiKeyById } from '../api-key/index.ts';
import { recordAudit } from '../audit/index.ts';
import { requireAuthenticated, requirePlatformAdmin, requireTenantAdmin, requireTenantRead } from '../identity/index.ts';
import type { Principal } from '../identity/index.ts';
import type { LimiterStore, LimitState } from './limiter-store.ts';
import type { LimitOverrideRow } from './limit-override.table.ts';
import type { EffectiveLimits, LimitsDirectory } from './limits-directory.ts';
import { listOverrides, saveOverride, type RateLimitValues } from './limits.repository.ts';

export interface RateLimitsInput {
  requestsPerMinute?: number | null;
  tokensPerMinute?: number | null;
  concurrentRequests?: number | null;
}

export interface Actor {
  principal: Principal;
  requestId: string;
}

const topic = 'limits:changed';
const MAX_LIMIT = 1_000_000_000;

function values(input: RateLimitsInput): RateLimitValues {
  const check = (field: keyof RateLimitsInput): number | null => {
    const value = input[field];
    if (value === undefined || value === null) return null;
    if (!Number.isInteger(value) || value < 1 || value > MAX_LIMIT) throw badInput(`${field} must be a whole number from 1 to ${MAX_LIMIT}, or null for the plan's`, { field });
    return value;
  };
  return { requests_per_minute: check('requestsPerMinute'), tokens_per_minute: check('tokensPerMinute'), concurrent_requests: check('concurrentRequests') };
}

/**
 * Per-tenant and per-API-key overrides of a plan's rate limits, and what applies to whom. A change
 * invalidates the cached limits here at once and on every other instance through the broadcast.
 */
export class LimitsService {
  readonly #db: SqlDatabase;
  readonly #directory: LimitsDirectory;
  readonly #store: LimiterStore;
  readonly #broadcast: Broadcast;
  readonly #logger: Logger;
  readonly #unsubscribe: () => void;

  constructor(options: { db: SqlDatabase; directory: LimitsDirectory; store: LimiterStore; broadcast: Broadcast; logger: Logger }) {
    this.#db = options.db;
    this.#directory = options.directory;
    this.#store = options.store;
    this.#broadcast = options.broadcast;
    this.#logger = options.logger;
    this.#unsubscribe = options.broadcast.subscribe(topic, (tenantId) => this.#directory.invalidate(tenantId));
  }

  /** What the tenant's principals are held to (a key with its own override may be held to less). */
  async limits(tenantId: string, apiKeyId: string | null = null): Promise<EffectiveLimits> {
    return this.#directory.get(tenantId, apiKeyId);
  }

  /** Where the caller's windows stand now, without counting anything (GET /v1/usage). */
  async windows(limits: EffectiveLimits): Promise<LimitState[] | undefined> {
    try {
      return await this.#store.peek(limits.tenantId, limits.apiKeyId, limits.specs);
    } catch (error) {
      this.#logger.warn({ err: error }, 'limits: store unreachable; usage shown without the rate windows');
      return undefined;
    }
  }

  keyOverrides(principal: Principal, tenantId: string): Promise<LimitOverrideRow[]> {
    requireTenantRead(principal, tenantId);
    return listOverrides(this.#db, tenantId).then((rows) => rows.filter((row) => row.api_key_id !== ''));
  }

  /** Platform admin only: a tenant's own limits instead of its plan's (null keeps the plan's). */
  async setTenantLimits(actor: Actor, tenantId: string, input: RateLimitsInput): Promise<void> {
    requirePlatformAdmin(actor.principal);
    const changes = values(input);
    await this.#db.transaction().execute(async (trx) => {
      const tenant = await trx.selectFrom('tenant').select('id').where('id', '=', tenantId).executeTakeFirst();
      if (!tenant) throw notFound('tenant', tenantId);
      await saveOverride(trx, tenantId, '', changes);
      await recordAudit(trx, actor, { tenantId, action: 'limits.set_tenant', target: tenantId, details: { ...changes } });
    });
    await this.changed(tenantId);
  }

  /** A key's own limits, within its tenant's (tenant admins may narrow a key; both limits apply). */
  async setApiKeyLimits(actor: Actor, apiKeyId: string, input: RateLimitsInput): Promise<LimitOverrideRow> {
    const caller = requireAuthenticated(actor.principal);
    const key = await findApiKeyById(this.#db, apiKeyId);
    // Another tenant's key is NOT_FOUND by the id the caller sent, exactly as a key that does not exist.
    if (!key || (caller.kind !== 'platform' && caller.tenantId !== key.tenant_id)) throw notFound('API key', apiKeyId);
    requireTenantAdmin(caller, key.tenant_id, 'API key');
    const changes = values(input);
    const row = await this.#db.transaction().execute(async (trx) => {
      const saved = await saveOverride(trx, key.tenant_id, apiKeyId, changes);
      await recordAudit(trx, actor, { tenantId: key.tenant_id, action: 'limits.set_api_key', target: apiKeyId, details: { ...changes } });
      return saved;
    });
    await this.changed(key.tenant_id);
    return row ?? { tenant_id: key.tenant_id, api_key_id: apiKeyId, requests_per_minute: null, tokens_per_minute: null, concurrent_requests: null, updated_at: new Date() };
  }

  /**
   * The tenant's plan or overrides changed (call once the change is committed): the store's limits
   * version moves on, so an instance that has not heard of it yet learns at its next admission, and every
   * instance drops what it cached.
   */
  async changed(tenantId: string): Promise<void> {
    this.#directory.invalidate(tenantId);
    try {
      await this.#store.bumpLimitsVersion(tenantId);
    } catch (error) {
      this.#logger.warn({ err: error, tenantId }, 'limits: could not record a limits change in the store; other instances learn of it over the broadcast');
    }
    await this.#broadcast.publish(topic, tenantId);
  }

  close(): void {
    this.#unsubscribe();
  }
}
