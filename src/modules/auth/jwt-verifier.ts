import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { systemClock, type Clock } from '../../shared/clock.ts';
import { unauthenticated } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { storedTextProblem } from '../../shared/stored-text.ts';

export interface JwtVerifierOptions {
  /** HS256 shared secret (TOLLGATE_JWT_SECRET). */
  secret?: string | undefined;
  /** Key set for RS256 and ES256 tokens (TOLLGATE_JWKS_URL). */
  jwksUrl?: string | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
  clock?: Clock;
  logger?: Logger;
}

/** A dashboard user, as a verified token describes them. */
export interface VerifiedUser {
  userId: string;
  tenantId: string;
  role: 'admin' | 'member';
  /** When the token stops being accepted, epoch milliseconds. */
  expiresAt: number;
}

const symmetricAlgorithms = ['HS256'];
const asymmetricAlgorithms = ['RS256', 'ES256'];
// A token must never choose the key it is checked with.
const keyNamingHeaders = ['jwk', 'jku', 'x5u', 'x5c'] as const;

/** Whether a bearer secret has the shape of a compact JWS (three base64url parts). */
export const looksLikeJwt = (secret: string) => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(secret);

/** Verifies dashboard users' JWTs with pinned algorithms; every refusal is UNAUTHENTICATED and says why. */
export class JwtVerifier {
  readonly #secret: Uint8Array | undefined;
  readonly #jwks: JWTVerifyGetKey | undefined;
  readonly #jwksUrl: string | undefined;
  readonly #issuer: string | undefined;
  readonly #audience: string | undefined;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;

  constructor(options: JwtVerifierOptions) {
    this.#secret = options.secret ? new TextEncoder().encode(options.secret) : undefined;
    this.#jwksUrl = options.jwksUrl;
    this.#jwks = options.jwksUrl ? createRemoteJWKSet(new URL(options.jwksUrl), { timeoutDuration: 3_000, cooldownDuration: 30_000 }) : undefined;
    this.#issuer = options.issuer;
    this.#audience = options.audience;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger;
  }

  get configured(): boolean {
    return this.#secret !== undefined || this.#jwks !== undefined;
  }

  async verify(token: string): Promise<VerifiedUser> {
    if (!this.configured) throw unauthenticated('dashboard tokens are not accepted here: no JWT secret or key set is configured');
    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw unauthenticated('the token is malformed');
    }
    const alg = header.alg;
    if (alg === undefined || alg.toLowerCase() === 'none') throw unauthenticated('unsigned tokens (alg "none") are refused');
    const named = keyNamingHeaders.filter((name) => header[name] !== undefined);
    if (named.length > 0) throw unauthenticated(`tokens that name their own key are refused (header ${named.join(', ')})`);
    const accepted = [...(this.#secret ? symmetricAlgorithms : []), ...(this.#jwks ? asymmetricAlgorithms : [])];
    if (!accepted.includes(alg)) throw unauthenticated(`token algorithm "${alg}" is not accepted (accepted: ${accepted.join(', ')})`);

    const options = {
      algorithms: symmetricAlgorithms.includes(alg) ? symmetricAlgorithms : asymmetricAlgorithms,
      issuer: this.#issuer,
      audience: this.#audience,
      currentDate: this.#clock.now(),
      requiredClaims: ['exp', 'sub', 'tid', 'role'],
    };
    let payload: JWTPayload;
    try {
      payload = symmetricAlgorithms.includes(alg)
        ? (await jwtVerify(token, this.#secret!, options)).payload
        : (await jwtVerify(token, this.#jwks!, options)).payload;
    } catch (error) {
      throw this.#refusal(error);
    }
    return claimsOf(payload);
  }

  #refusal(error: unknown) {
    if (error instanceof errors.JWTExpired) {
      const exp = error.payload.exp;
      return unauthenticated(typeof exp === 'number' ? `this token expired at ${new Date(exp * 1000).toISOString()}` : 'this token expired');
    }
    if (error instanceof errors.JWTClaimValidationFailed) {
      if (error.claim === 'iss') return unauthenticated('the token was issued by an issuer this gateway does not accept');
      if (error.claim === 'aud') return unauthenticated('the token is meant for another audience');
      if (error.reason === 'missing') return unauthenticated(`the token lacks the "${error.claim}" claim`);
      return unauthenticated(`the token's "${error.claim}" claim is not valid`);
    }
    if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey) {
      return unauthenticated('the token signature is not valid');
    }
    if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || !(error instanceof errors.JOSEError)) {
      this.#logger?.error({ err: error, jwksUrl: this.#jwksUrl }, 'cannot fetch the JWT key set');
      return unauthenticated('the token cannot be verified right now: the signing keys are unavailable');
    }
    return unauthenticated('the token is malformed');
  }
}

function claimsOf(payload: JWTPayload): VerifiedUser {
  const { sub, tid, role, exp } = payload;
  if (typeof sub !== 'string' || sub.length === 0) throw unauthenticated('the token\'s "sub" claim must name the user');
  if (typeof tid !== 'string' || tid.length === 0) throw unauthenticated('the token\'s "tid" claim must name the tenant');
  if (role !== 'admin' && role !== 'member') throw unauthenticated('the token\'s "role" claim must be "admin" or "member"');
  // The user is recorded on usage events and audit rows, the tenant looked up: both must be storable.
  for (const [claim, value] of [['sub', sub], ['tid', tid]] as const) {
    const problem = storedTextProblem(value, { maxLength: 256 });
    if (problem !== null) throw unauthenticated(`the token's "${claim}" claim ${problem}`);
  }
  return { userId: sub, tenantId: tid, role, expiresAt: (exp as number) * 1000 };
}
