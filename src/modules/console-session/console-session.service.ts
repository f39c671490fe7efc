import { sha256Hex } from '../../shared/digest.ts';
import { systemClock, type Clock } from '../../shared/clock.ts';
import { DomainError, forbidden, unauthenticated } from '../../shared/errors.ts';
import { randomId } from '../../shared/ids.ts';
import type { SqlDatabase } from '../../storage/sql-database.ts';
import type { AuthService } from '../auth/index.ts';
import type { Credentials, Principal, TenantPrincipal } from '../identity/index.ts';
import { findTenantById } from '../tenant/index.ts';
import { findConsoleSession, insertConsoleSession, markConsoleSessionRevoked, updateConsoleSessionAfterRefresh } from './console-session.repository.ts';
import type { ConsoleSessionRow } from './console-session.table.ts';
import type { ConsoleSso, SsoIdentity } from './console-sso.ts';
import { TextSealer } from './sealed-text.ts';
import { SignedTokens } from './session-token.ts';

export interface ConsoleSessionOptions {
  db: SqlDatabase;
  auth: AuthService;
  /** TOLLGATE_SECRET: the token signing key derives from it. */
  secret: string | undefined;
  clock?: Clock;
  /** How long one signed token is accepted (default 15 min); a token in use is replaced well before. */
  tokenLifetimeMs?: number;
  /** The longest a session lasts, however active (default 12 h). */
  sessionLifetimeMs?: number;
  /** Single sign-on, when configured. */
  sso?: ConsoleSso | undefined;
}

/** A session's principal, and a fresh token when the one presented is due for rotation. */
export interface ResolvedSession {
  principal: TenantPrincipal;
  renewedToken: string | undefined;
}

const ended = 'the console session ended: sign in again';

/**
 * Console sign-in: a secret is checked once and exchanged for a session; the browser keeps only a
 * short-lived signed token naming it. Every use checks the session and, for keys, the key again.
 */
export class ConsoleSessionService {
  readonly #db: SqlDatabase;
  readonly #auth: AuthService;
  readonly #clock: Clock;
  readonly #signer: SignedTokens;
  readonly #sealer: TextSealer;
  readonly tokenLifetimeMs: number;
  readonly #sessionLifetimeMs: number;
  readonly sso: ConsoleSso | undefined;
  /** Refreshes in progress by session id, so concurrent calls spend a refresh token once. */
  readonly #refreshing = new Map<string, Promise<void>>();

  constructor(options: ConsoleSessionOptions) {
    this.#db = options.db;
    this.#auth = options.auth;
    this.#clock = options.clock ?? systemClock;
    this.#signer = new SignedTokens(options.secret, 'console session token');
    this.#sealer = new TextSealer(options.secret, 'console sso refresh token');
    this.sso = options.sso;
    this.tokenLifetimeMs = options.tokenLifetimeMs ?? 15 * 60_000;
    this.#sessionLifetimeMs = options.sessionLifetimeMs ?? 12 * 3_600_000;
  }

  /** Opens a session for a secret the console may sign in with, and returns its first token. */
  async signIn(secret: string): Promise<{ token: string; principal: TenantPrincipal }> {
    const principal = await this.#auth.authenticate({ authorization: `Bearer ${secret}`, tenantId: undefined, userId: undefined });
    if (principal.kind === 'anonymous') throw unauthenticated('enter a secret to sign in');
    if (principal.kind === 'api-key' && !principal.scopes.includes('admin') && !principal.scopes.includes('usage:read')) {
      throw unauthenticated('this API key has neither the "admin" nor the "usage:read" scope, which the console needs');
    }
    if (principal.kind === 'user') await this.#requireTenant(principal.tenantId);
    const now = this.#clock.now().getTime();
    const expiresAt = Math.min(now + this.#sessionLifetimeMs, principal.kind === 'platform' ? Infinity : (principal.expiresAt ?? Infinity));
    const id = randomId(24);
    await insertConsoleSession(this.#db, {
      id,
      kind: principal.kind,
      tenant_id: principal.kind === 'platform' ? null : principal.tenantId,
      user_id: principal.kind === 'user' ? principal.userId : null,
      role: principal.kind === 'user' ? principal.role : null,
      api_key_id: principal.kind === 'api-key' ? principal.keyId : null,
      secret_digest: principal.kind === 'user' ? null : sha256Hex(secret),
      sso_refresh_token: null,
      expires_at: new Date(expiresAt),
    });
    return { token: await this.#signer.sign({ sid: id }, now, this.tokenLifetimeMs), principal };
  }

  /** Opens a session for a person the SSO provider vouched for; their tenant must exist. */
  async signInWithSso(identity: SsoIdentity): Promise<string> {
    await this.#requireTenant(identity.tenantId);
    const now = this.#clock.now().getTime();
    const id = randomId(24);
    await insertConsoleSession(this.#db, {
      id,
      kind: 'user',
      tenant_id: identity.tenantId,
      user_id: identity.userId,
      role: identity.role,
      api_key_id: null,
      secret_digest: null,
      sso_refresh_token: identity.refreshToken === undefined ? null : this.#sealer.seal(identity.refreshToken),
      expires_at: new Date(Math.min(identity.expiresAt, now + this.#sessionLifetimeMs)),
    });
    return this.#signer.sign({ sid: id }, now, this.tokenLifetimeMs);
  }

  /** The principal a session token stands for; an ended, revoked or forged session is UNAUTHENTICATED. */
  async resolve(token: string, credentials: Credentials): Promise<ResolvedSession> {
    const now = this.#clock.now().getTime();
    const verified = await this.#signer.verify(token, now);
    const sessionId = verified?.claims.sid;
    if (verified === undefined || sessionId === undefined) throw unauthenticated(ended);
    let session = await findConsoleSession(this.#db, sessionId);
    if (session === undefined || session.revoked_at !== null) throw unauthenticated(ended);
    if (session.expires_at.getTime() <= now) {
      if (session.sso_refresh_token === null) throw unauthenticated(ended);
      await this.#refreshSso(session);
      session = await findConsoleSession(this.#db, sessionId);
      if (session === undefined || session.revoked_at !== null || session.expires_at.getTime() <= now) throw unauthenticated(ended);
    }
    const principal = await this.#principalOf(session, credentials);
    // Rotated once a third of its life has passed, so an active console never presents an expiring token.
    const due = now - verified.issuedAt >= this.tokenLifetimeMs / 3;
    return { principal, renewedToken: due ? await this.#signer.sign({ sid: session.id }, now, this.tokenLifetimeMs) : undefined };
  }

  /** Ends the session the token names, on every instance; an invalid or ended token changes nothing. */
  async signOut(token: string): Promise<void> {
    const now = this.#clock.now();
    const sessionId = (await this.#signer.verify(token, now.getTime()))?.claims.sid;
    if (sessionId !== undefined) await markConsoleSessionRevoked(this.#db, sessionId, now);
  }

  /** A lapsed SSO session asks the provider for new tokens; a refusal (or a tenant gone) ends it. */
  #refreshSso(session: ConsoleSessionRow): Promise<void> {
    const pending = this.#refreshing.get(session.id);
    if (pending !== undefined) return pending;
    const refreshing = (async () => {
      const refreshToken = session.sso_refresh_token === null ? undefined : this.#sealer.open(session.sso_refresh_token);
      if (this.sso === undefined || refreshToken === undefined) throw unauthenticated(ended);
      const identity = await this.sso.refresh(refreshToken);
      await this.#requireTenant(identity.tenantId);
      const lifetimeEnd = session.created_at.getTime() + this.#sessionLifetimeMs;
      await updateConsoleSessionAfterRefresh(this.#db, session.id, {
        expiresAt: new Date(Math.min(identity.expiresAt, lifetimeEnd)),
        tenantId: identity.tenantId,
        userId: identity.userId,
        role: identity.role,
        refreshToken: this.#sealer.seal(identity.refreshToken ?? refreshToken),
      });
    })().finally(() => this.#refreshing.delete(session.id));
    this.#refreshing.set(session.id, refreshing);
    return refreshing;
  }

  async #requireTenant(tenantId: string): Promise<void> {
    if ((await findTenantById(this.#db, tenantId)) === undefined) throw unauthenticated(`there is no tenant "${tenantId}" to sign in to`);
    await this.#auth.requireActiveTenant(tenantId);
  }

  async #principalOf(session: ConsoleSessionRow, credentials: Credentials): Promise<TenantPrincipal> {
    if (session.kind === 'user') {
      if (session.tenant_id === null || session.user_id === null) throw unauthenticated(ended);
      if (credentials.tenantId !== undefined && credentials.tenantId !== session.tenant_id) throw forbidden('only the platform admin may act for another tenant');
      // Keys are re-checked through authenticateDigest, which refuses a suspended tenant; a user's session is checked here.
      await this.#auth.requireActiveTenant(session.tenant_id);
      return { kind: 'user', tenantId: session.tenant_id, userId: session.user_id, role: session.role === 'admin' ? 'admin' : 'member', expiresAt: session.expires_at.getTime() };
    }
    if (session.secret_digest === null) throw unauthenticated(ended);
    let principal: Principal;
    try {
      principal = await this.#auth.authenticateDigest(Buffer.from(session.secret_digest, 'hex'), session.api_key_id ?? undefined, {
        authorization: undefined,
        tenantId: credentials.tenantId,
        userId: undefined,
      });
    } catch (error) {
      if (error instanceof DomainError && error.code === 'UNAUTHENTICATED') throw unauthenticated(`${ended} (${error.message})`);
      throw error;
    }
    if (principal.kind === 'anonymous') throw unauthenticated(ended);
    if (principal.kind === 'api-key') return { ...principal, expiresAt: Math.min(principal.expiresAt ?? Infinity, session.expires_at.getTime()) };
    return principal;
  }
}
