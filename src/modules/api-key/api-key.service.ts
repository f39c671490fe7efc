import { systemClock, type Clock } from '../../shared/clock.ts';
import { badInput, DomainError, notFound } from '../../shared/errors.ts';
import type { KeysetPage } from '../../shared/keyset-page.ts';
import type { SqlDatabase } from '../../storage/sql-database.ts';
import { recordAudit } from '../audit/index.ts';
import { requireAuthenticated, requireTenantAdmin } from '../identity/index.ts';
import type { Principal } from '../identity/index.ts';
import type { RevocationBus } from './revocation-bus.ts';
import type { Actor } from '../tenant/index.ts';
import { findTenantById } from '../tenant/index.ts';
import { normaliseScopes } from './api-key-scopes.ts';
import { apiKeyPrefix, newApiKeyId, newApiKeySecret } from './api-key-secret.ts';
import { apiKeyStatus } from './api-key-status.ts';
import { findApiKeyById, insertApiKey, listApiKeysOfTenant, markApiKeyRevoked, replaceApiKeySecret } from './api-key.repository.ts';
import type { ApiKeyRow } from './api-key.table.ts';

export interface ApiKeyServiceOptions {
  db: SqlDatabase;
  /** Announces revocations and rotations so every instance drops its cached copy at once. */
  revocations: RevocationBus;
  clock?: Clock;
}

export interface CreateApiKeyInput {
  tenantId: string;
  name: string;
  expiresAt?: Date | null;
  scopes?: readonly string[] | null;
}

/** A key together with its secret: returned by create and rotate, the only times the secret exists. */
export interface ApiKeyWithSecret {
  apiKey: ApiKeyRow;
  secret: string;
}

/** The longest grace period a rotation may keep the old secret working. */
export const maxRotationGraceSeconds = 7 * 24 * 3600;

function validName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > 200) throw badInput('name must be 1 to 200 characters', { field: 'name' });
  return trimmed;
}

const isUniqueViolation = (error: unknown) => (error as { code?: unknown }).code === '23505';

export class ApiKeyService {
  readonly #db: SqlDatabase;
  readonly #revocations: RevocationBus;
  readonly #clock: Clock;

  constructor(options: ApiKeyServiceOptions) {
    this.#db = options.db;
    this.#revocations = options.revocations;
    this.#clock = options.clock ?? systemClock;
  }

  async create(actor: Actor, input: CreateApiKeyInput): Promise<ApiKeyWithSecret> {
    requireTenantAdmin(actor.principal, input.tenantId);
    const name = validName(input.name);
    const scopes = normaliseScopes(input.scopes);
    const expiresAt = input.expiresAt ?? null;
    if (expiresAt !== null && expiresAt.getTime() <= this.#clock.now().getTime()) {
      throw badInput('expiresAt must be in the future', { field: 'expiresAt' });
    }
    // Ids are 8 random characters: a collision is rare, and a retry with a fresh id settles it.
    for (let attempt = 1; ; attempt += 1) {
      const id = newApiKeyId();
      const { secret, digest } = newApiKeySecret(id);
      try {
        const apiKey = await this.#db.transaction().execute(async (trx) => {
          if (!(await findTenantById(trx, input.tenantId))) throw notFound('tenant', input.tenantId);
          const row = await insertApiKey(trx, {
            id,
            tenant_id: input.tenantId,
            name,
            secret_hash: digest,
            previous_secret_hash: null,
            previous_valid_until: null,
            scopes,
            expires_at: expiresAt,
            revoked_at: null,
            last_used_at: null,
          });
          await recordAudit(trx, actor, {
            tenantId: input.tenantId,
            action: 'api_key.create',
            target: id,
            details: { name, prefix: apiKeyPrefix(id), scopes, expiresAt: expiresAt?.toISOString() ?? null },
          });
          return row;
        });
        // An instance that saw this id before it existed may have cached "no such key".
        await this.#revocations.publish(id);
        return { apiKey, secret };
      } catch (error) {
        if (attempt < 3 && isUniqueViolation(error) && !(error instanceof DomainError)) continue;
        throw error;
      }
    }
  }

  async list(principal: Principal, tenantId: string, page: KeysetPage): Promise<ApiKeyRow[]> {
    requireTenantAdmin(principal, tenantId);
    return listApiKeysOfTenant(this.#db, tenantId, page);
  }

  async get(principal: Principal, id: string): Promise<ApiKeyRow> {
    return this.#visibleKey(this.#db, principal, id);
  }

  /** Revoking is immediate on every instance; revoking a revoked key changes nothing and returns it. */
  async revoke(actor: Actor, id: string): Promise<ApiKeyRow> {
    const key = await this.#db.transaction().execute(async (trx) => {
      const existing = await this.#visibleKey(trx, actor.principal, id);
      const revoked = await markApiKeyRevoked(trx, id, this.#clock.now());
      if (!revoked) return existing;
      await recordAudit(trx, actor, { tenantId: existing.tenant_id, action: 'api_key.revoke', target: id, details: { prefix: apiKeyPrefix(id) } });
      return revoked;
    });
    await this.#revocations.publish(id);
    return key;
  }

  /**
   * Issues a new secret. The old one is refused at once, or keeps working for `gracePeriodSeconds`
   * so clients can switch over without downtime.
   */
  async rotate(actor: Actor, id: string, options: { gracePeriodSeconds?: number | null } = {}): Promise<ApiKeyWithSecret> {
    const grace = options.gracePeriodSeconds ?? 0;
    if (!Number.isInteger(grace) || grace < 0 || grace > maxRotationGraceSeconds) {
      throw badInput(`gracePeriodSeconds must be a whole number from 0 to ${maxRotationGraceSeconds} (7 days)`, { field: 'gracePeriodSeconds' });
    }
    const { secret, digest } = newApiKeySecret(id);
    const apiKey = await this.#db.transaction().execute(async (trx) => {
      const existing = await this.#visibleKey(trx, actor.principal, id);
      const now = this.#clock.now();
      const status = apiKeyStatus(existing, now);
      if (status !== 'active') throw badInput(`this API key is ${status} and cannot be rotated; create a new one`, { field: 'id' });
      const rotated = await replaceApiKeySecret(trx, id, {
        secretHash: digest,
        // Kept even without a grace period, so the old secret is refused with "rotated" rather than "invalid".
        previousSecretHash: existing.secret_hash,
        previousValidUntil: new Date(now.getTime() + grace * 1000),
      });
      if (!rotated) throw notFound('API key', id);
      await recordAudit(trx, actor, {
        tenantId: existing.tenant_id,
        action: 'api_key.rotate',
        target: id,
        details: { prefix: apiKeyPrefix(id), gracePeriodSeconds: grace },
      });
      return rotated;
    });
    await this.#revocations.publish(id);
    return { apiKey, secret };
  }

  /** Another tenant's key is NOT_FOUND, never FORBIDDEN, so ids cannot be probed across tenants. */
  async #visibleKey(db: Parameters<typeof findApiKeyById>[0], principal: Principal, id: string): Promise<ApiKeyRow> {
    const caller = requireAuthenticated(principal);
    const key = await findApiKeyById(db, id);
    if (!key || (caller.kind !== 'platform' && caller.tenantId !== key.tenant_id)) throw notFound('API key', id);
    requireTenantAdmin(principal, key.tenant_id, 'API key');
    return key;
  }
}
