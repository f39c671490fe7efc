import { sha256Hex } from '../../shared/digest.ts';
import { systemClock, type Clock } from '../../shared/clock.ts';
import { DomainError, forbidden, unauthenticated } from '../../shared/errors.ts';
import { randomId } from '../../shared/ids.ts';
import type { SqlDatabase } from '../../storage/sql-database.ts';
import type { AuthService } from '../auth/auth.service.ts';
import type { Credentials, Principal, TenantPrincipal } from '../auth/principal.ts';
import { findConsoleSession, insertConsoleSession, markConsoleSessionRevoked } from './console-session.repository.ts';
import type { ConsoleSessionRow } from './console-session.table.ts';
import { SessionTokenSigner } from './session-token.ts';

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
  readonly #signer: SessionTokenSigner;
  readonly tokenLifetimeMs: number;
  readonly #sessionLifetimeMs: number;

  constructor(options: ConsoleSessionOptions) {
    this.#db = options.db;
    this.#auth = options.auth;
    this.#clock = options.clock ?? systemClock;
    this.#signer = new SessionTokenSigner(options.secret);
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
      expires_at: new Date(expiresAt),
    });
    return { token: await this.#signer.sign(id, now, this.tokenLifetimeMs), principal };
  }

  /** The principal a session token stands for; an ended, revoked or forged session is UNAUTHENTICATED. */
  async resolve(token: string, credentials: Credentials): Promise<ResolvedSession> {
    const now = this.#clock.now().getTime();
    const claims = await this.#signer.verify(token, now);
    if (claims === undefined) throw unauthenticated(ended);
    const session = await findConsoleSession(this.#db, claims.sessionId);
    if (session === undefined || session.revoked_at !== null || session.expires_at.getTime() <= now) throw unauthenticated(ended);
    const principal = await this.#principalOf(session, credentials);
    // Rotated once a third of its life has passed, so an active console never presents an expiring token.
    const due = now - claims.issuedAt >= this.tokenLifetimeMs / 3;
    return { principal, renewedToken: due ? await this.#signer.sign(session.id, now, this.tokenLifetimeMs) : undefined };
  }

  /** Ends the session the token names, on every instance; an invalid or ended token changes nothing. */
  async signOut(token: string): Promise<void> {
    const now = this.#clock.now();
    const claims = await this.#signer.verify(token, now.getTime());
    if (claims !== undefined) await markConsoleSessionRevoked(this.#db, claims.sessionId, now);
  }

  async #principalOf(session: ConsoleSessionRow, credentials: Credentials): Promise<TenantPrincipal> {
    if (session.kind === 'user') {
      if (session.tenant_id === null || session.user_id === null) throw unauthenticated(ended);
      if (credentials.tenantId !== undefined && credentials.tenantId !== session.tenant_id) throw forbidden('only the platform admin may act for another tenant');
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
