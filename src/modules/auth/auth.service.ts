import type { LRUCache } from 'lru-cache';
import { growingLru } from '../../shared/growing-lru.ts';
import { digestsEqual, sha256 } from '../../shared/digest.ts';
import { systemClock, type Clock } from '../../shared/clock.ts';
import { badInput, forbidden, notFound, tenantSuspended, unauthenticated } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { isDatabaseUnavailable } from '../../storage/database-outage.ts';
import type { SqlDatabase } from '../../storage/sql-database.ts';
import { apiKeyIdOf, looksLikeApiKey } from '../api-key/index.ts';
import { findApiKeyById } from '../api-key/index.ts';
import { LastUsedTracker } from '../api-key/index.ts';
import { findTenantById } from '../tenant/index.ts';
import { JwtVerifier, looksLikeJwt } from './jwt-verifier.ts';
import type { Credentials, Principal } from '../identity/index.ts';
import type { RevocationBus } from '../api-key/index.ts';

export interface AuthServiceOptions {
  adminKey: string | undefined;
  db: SqlDatabase;
  logger: Logger;
  /** Dashboard users' JWTs: HS256 with `jwtSecret`, RS256/ES256 from `jwksUrl`; `iss`/`aud` checked when set. */
  jwt?: { jwtSecret?: string | undefined; jwksUrl?: string | undefined; jwtIssuer?: string | undefined; jwtAudience?: string | undefined };
  /** Where revocations and rotations are announced; each instance drops its cached copy of the key. */
  revocations: RevocationBus;
  clock?: Clock;
  /** How long a verified key stays cached (default 30 s); revocations evict earlier. */
  keyCacheTtlMs?: number;
  /**
   * While the database is unreachable, a key or tenant verified at most this long ago is still accepted
   * (default 0: not at all). Revocations still evict it, since they arrive over Redis.
   */
  outageGraceMs?: number;
  keyCacheMax?: number;
  /** How often keys' last use is written (default 5 s). */
  lastUsedFlushMs?: number;
}

/** What the cache keeps about a key: enough to verify a secret and decide, nothing to display. */
interface KeyRecord {
  tenantId: string;
  /** Digests decoded once when the key is loaded, not on every request. */
  secretHash: Buffer;
  previousSecretHash: Buffer | null;
  previousValidUntil: number | null;
  scopes: readonly string[];
  expiresAt: number | null;
  revokedAt: number | null;
}

// Lookups of ids that do not exist are remembered briefly, so a flood of made-up keys does not reach the database.
const missing = Symbol('missing');
type CachedKey = KeyRecord | typeof missing;
type TenantState = 'active' | 'suspended' | typeof missing;
const missingTtlMs = 5_000;
/** During an outage a stale entry is served for this long before the database is tried again. */
const outageRetryMs = 1_000;

/** A database read kept in memory: when it was read, and until when an outage lets it be served without asking again. */
interface Cached<T> {
  value: T;
  loadedAt: number;
  retryAt: number;
}

const anonymous: Principal = Object.freeze({ kind: 'anonymous' });
const invalidApiKey = 'invalid API key';

/**
 * Resolves a request's credentials to a principal; a presented but invalid secret is an error, never
 * anonymous. API keys are verified from an in-process cache, so the /v1 hot path reads no database.
 */
export class AuthService {
  readonly #adminKeyDigest: Buffer | undefined;
  readonly #db: SqlDatabase;
  readonly #clock: Clock;
  readonly #jwt: JwtVerifier;
  readonly #keys: LRUCache<string, Cached<CachedKey>>;
  /** Each tenant's status as last read (missing: no such tenant); a suspension or reactivation evicts it. */
  readonly #tenants: LRUCache<string, Cached<TenantState>>;
  readonly #freshMs: number;
  readonly #outageGraceMs: number;
  readonly #loading = new Map<string, Promise<CachedKey>>();
  readonly #lastUsed: LastUsedTracker;
  readonly #unsubscribe: () => void;
  /** Bumped on every eviction: a lookup that raced with one is used once but not cached. */
  #generation = 0;
  #tenantGeneration = 0;

  constructor(options: AuthServiceOptions) {
    this.#adminKeyDigest = options.adminKey === undefined ? undefined : sha256(options.adminKey);
    this.#db = options.db;
    this.#clock = options.clock ?? systemClock;
    this.#jwt = new JwtVerifier({
      secret: options.jwt?.jwtSecret,
      jwksUrl: options.jwt?.jwksUrl,
      issuer: options.jwt?.jwtIssuer,
      audience: options.jwt?.jwtAudience,
      clock: this.#clock,
      logger: options.logger,
    });
    this.#freshMs = options.keyCacheTtlMs ?? 30_000;
    this.#outageGraceMs = options.outageGraceMs ?? 0;
    // Entries outlive their freshness by the outage grace: only an outage serves them past it.
    const ttl = Math.max(this.#freshMs, this.#outageGraceMs);
    this.#keys = growingLru(options.keyCacheMax ?? 50_000, { ttl });
    this.#tenants = growingLru(50_000, { ttl });
    this.#lastUsed = new LastUsedTracker({ db: options.db, logger: options.logger, flushIntervalMs: options.lastUsedFlushMs });
    this.#lastUsed.start();
    this.#unsubscribe = options.revocations.subscribe({
      evict: (keyId) => this.#evict(keyId),
      evictTenant: (tenantId) => {
        this.#tenantGeneration += 1;
        this.#tenants.delete(tenantId);
      },
      evictAll: () => {
        this.#generation += 1;
        this.#keys.clear();
        this.#loading.clear();
        this.#tenantGeneration += 1;
        this.#tenants.clear();
      },
    });
  }

  async authenticate(credentials: Credentials): Promise<Principal> {
    if (credentials.authorization === undefined) return anonymous;
    const secret = bearerSecret(credentials.authorization);
    const digest = sha256(secret);
    if (this.#isAdminKey(digest)) return this.#platformPrincipal(credentials);
    if (looksLikeApiKey(secret)) {
      const keyId = apiKeyIdOf(secret);
      if (keyId === undefined) throw unauthenticated(invalidApiKey);
      return this.#apiKeyPrincipal(keyId, digest, credentials);
    }
    if (looksLikeJwt(secret)) {
      const user = await this.#jwt.verify(secret);
      requireOwnTenant(credentials, user.tenantId, 'token');
      await this.requireActiveTenant(user.tenantId);
      return { kind: 'user', tenantId: user.tenantId, userId: user.userId, role: user.role, expiresAt: user.expiresAt };
    }
    throw unauthenticated('the bearer secret is not a valid admin key, API key or token');
  }

  /**
   * Checks again a secret known only by its digest (a console session keeps no secret): the admin key,
   * or the API key `keyId`, by the same rules as authenticate, so revocation and expiry apply alike.
   */
  async authenticateDigest(digest: Buffer, keyId: string | undefined, credentials: Credentials): Promise<Principal> {
    if (keyId !== undefined) return this.#apiKeyPrincipal(keyId, digest, credentials);
    if (this.#isAdminKey(digest)) return this.#platformPrincipal(credentials);
    throw unauthenticated('the platform admin key changed since this session signed in');
  }

  /** Refuses (403 tenant_suspended) when the tenant is suspended; answers from memory, evicted on every instance by a change. */
  async requireActiveTenant(tenantId: string): Promise<void> {
    if ((await this.#tenantState(tenantId)) === 'suspended') throw tenantSuspended(tenantId);
  }

  /** Writes pending last-used times now (they are otherwise written every few seconds). */
  flushLastUsed(): Promise<void> {
    return this.#lastUsed.flush();
  }

  /** Stops listening for revocations and writes pending last-used times; call before the database closes. */
  async close(): Promise<void> {
    this.#unsubscribe();
    await this.#lastUsed.stop();
  }

  #isAdminKey(digest: Buffer): boolean {
    return this.#adminKeyDigest !== undefined && digestsEqual(digest, this.#adminKeyDigest);
  }

  async #platformPrincipal(credentials: Credentials): Promise<Principal> {
    const tenantId = headerValue(credentials.tenantId);
    // The platform still manages a suspended tenant; serving it inference is refused where it is asked (requireActiveTenant).
    if (tenantId !== undefined && (await this.#tenantState(tenantId)) === missing) throw notFound('tenant', tenantId);
    return { kind: 'platform', tenantId, userId: userIdHeader(credentials.userId) };
  }

  async #apiKeyPrincipal(keyId: string, digest: Buffer, credentials: Credentials): Promise<Principal> {
    const key = await this.#keyRecord(keyId);
    if (key === missing) throw unauthenticated(invalidApiKey);
    const now = this.#clock.now().getTime();
    let expiresAt = key.expiresAt ?? undefined;
    if (!digestsEqual(digest, key.secretHash)) {
      if (key.previousSecretHash === null || !digestsEqual(digest, key.previousSecretHash)) throw unauthenticated(invalidApiKey);
      // Only a holder of the old secret gets here, so saying it was rotated tells a guesser nothing.
      if (key.previousValidUntil === null || key.previousValidUntil <= now) {
        throw unauthenticated('this API key was rotated: its previous secret is no longer accepted');
      }
      expiresAt = Math.min(expiresAt ?? Number.POSITIVE_INFINITY, key.previousValidUntil);
    }
    if (key.revokedAt !== null) throw unauthenticated('this API key was revoked');
    if (key.expiresAt !== null && key.expiresAt <= now) throw unauthenticated(`this API key expired at ${new Date(key.expiresAt).toISOString()}`);
    requireOwnTenant(credentials, key.tenantId, 'API key');
    await this.requireActiveTenant(key.tenantId);
    this.#lastUsed.touch(keyId, now);
    return { kind: 'api-key', tenantId: key.tenantId, keyId, scopes: key.scopes, userId: userIdHeader(credentials.userId), expiresAt };
  }

  #keyRecord(keyId: string): CachedKey | Promise<CachedKey> {
    const cached = this.#keys.get(keyId);
    const now = this.#clock.now().getTime();
    if (cached !== undefined && (cached.value === missing || this.#usable(cached, now))) return cached.value;
    const pending = this.#loading.get(keyId);
    if (pending !== undefined) return pending;
    const loading: Promise<CachedKey> = this.#load(keyId).catch((error: unknown) => {
      if (cached !== undefined && this.#keys.get(keyId) === cached && this.#servesThroughOutage(cached, error, now)) return cached.value;
      throw error;
    }).finally(() => {
      if (this.#loading.get(keyId) === loading) this.#loading.delete(keyId);
    });
    this.#loading.set(keyId, loading);
    return loading;
  }

  async #load(keyId: string): Promise<CachedKey> {
    const generation = this.#generation;
    const row = await findApiKeyById(this.#db, keyId);
    const record: CachedKey = row
      ? {
          tenantId: row.tenant_id,
          secretHash: Buffer.from(row.secret_hash, 'hex'),
          previousSecretHash: row.previous_secret_hash === null ? null : Buffer.from(row.previous_secret_hash, 'hex'),
          previousValidUntil: row.previous_valid_until?.getTime() ?? null,
          scopes: Object.freeze([...row.scopes]),
          expiresAt: row.expires_at?.getTime() ?? null,
          revokedAt: row.revoked_at?.getTime() ?? null,
        }
      : missing;
    if (generation === this.#generation) {
      const loadedAt = this.#clock.now().getTime();
      this.#keys.set(keyId, { value: record, loadedAt, retryAt: loadedAt }, record === missing ? { ttl: missingTtlMs } : undefined);
    }
    return record;
  }

  /** Fresh, or served through an outage that was seen less than a second ago. */
  #usable(cached: Cached<unknown>, now: number): boolean {
    return now - cached.loadedAt < this.#freshMs || now < cached.retryAt;
  }

  /** Whether a stale entry may stand in for a read that failed: only for an outage, and only within the grace. */
  #servesThroughOutage(cached: Cached<unknown>, error: unknown, now: number): boolean {
    if (!isDatabaseUnavailable(error) || now - cached.loadedAt >= this.#outageGraceMs) return false;
    cached.retryAt = now + outageRetryMs;
    return true;
  }

  #evict(keyId: string): void {
    this.#generation += 1;
    this.#keys.delete(keyId);
    this.#loading.delete(keyId);
  }

  #tenantState(tenantId: string): TenantState | Promise<TenantState> {
    const known = this.#tenants.get(tenantId);
    const now = this.#clock.now().getTime();
    if (known !== undefined && this.#usable(known, now)) return known.value;
    return this.#loadTenantState(tenantId, known, now);
  }

  async #loadTenantState(tenantId: string, known: Cached<TenantState> | undefined, now: number): Promise<TenantState> {
    const generation = this.#tenantGeneration;
    let tenant;
    try {
      tenant = await findTenantById(this.#db, tenantId);
    } catch (error) {
      if (known !== undefined && this.#tenants.get(tenantId) === known && this.#servesThroughOutage(known, error, now)) return known.value;
      throw error;
    }
    const state: TenantState = tenant ? tenant.status : missing;
    if (generation === this.#tenantGeneration) this.#tenants.set(tenantId, { value: state, loadedAt: now, retryAt: now }, state === missing ? { ttl: missingTtlMs } : undefined);
    return state;
  }
}

function bearerSecret(authorization: string): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match?.[1]) throw unauthenticated('the Authorization header must be "Bearer <secret>"');
  return match[1];
}

const headerValue = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());

function userIdHeader(value: string | undefined): string | undefined {
  const userId = headerValue(value);
  if (userId !== undefined && !/^[\x21-\x7e]{1,256}$/.test(userId)) {
    throw badInput('X-User-ID must be 1 to 256 printable ASCII characters without spaces', { field: 'X-User-ID' });
  }
  return userId;
}

/** Only the platform acts for another tenant: a tenant's own credentials naming a different one are refused. */
function requireOwnTenant(credentials: Credentials, ownTenantId: string, what: string): void {
  const named = headerValue(credentials.tenantId);
  if (named !== undefined && named !== ownTenantId) {
    throw forbidden(`this ${what} belongs to another tenant than the X-Tenant-ID header names; only the platform admin key may act for another tenant`);
  }
}
