import { hkdfSync, randomBytes } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';

/** A verified token's string claims and when it was issued (epoch ms). */
export interface VerifiedClaims {
  claims: Record<string, string>;
  issuedAt: number;
}

/**
 * Short-lived signed tokens the console's cookies carry (the session's, the SSO sign-in's). Each
 * purpose has its own key, so one kind of token is never accepted as another.
 */
export class SignedTokens {
  readonly #key: Uint8Array;

  /** The key derives from TOLLGATE_SECRET, so every instance accepts the others' tokens; without one, it is random per process. */
  constructor(secret: string | undefined, purpose: string) {
    this.#key = secret === undefined ? randomBytes(32) : new Uint8Array(hkdfSync('sha256', secret, 'tollgate', purpose, 32));
  }

  sign(claims: Record<string, string>, issuedAt: number, lifetimeMs: number): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt(Math.floor(issuedAt / 1000))
      .setExpirationTime(Math.floor((issuedAt + lifetimeMs) / 1000))
      .sign(this.#key);
  }

  /** The token's claims, or undefined when it is forged, malformed or expired. */
  async verify(token: string, now: number): Promise<VerifiedClaims | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.#key, { algorithms: ['HS256'], currentDate: new Date(now) });
      if (typeof payload.iat !== 'number') return undefined;
      const claims = Object.fromEntries(Object.entries(payload).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
      return { claims, issuedAt: payload.iat * 1000 };
    } catch (error) {
      if (error instanceof errors.JOSEError) return undefined;
      throw error;
    }
  }
}
