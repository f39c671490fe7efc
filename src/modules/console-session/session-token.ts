import { hkdfSync, randomBytes } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';

/** What a verified session token says: the session it names and when it was issued (epoch ms). */
export interface SessionTokenClaims {
  sessionId: string;
  issuedAt: number;
}

/**
 * The signed token in the console's cookie: it names a session and lives minutes, so a copied cookie
 * is short-lived; the session row decides whether the session still holds.
 */
export class SessionTokenSigner {
  readonly #key: Uint8Array;

  /** The key derives from TOLLGATE_SECRET, so every instance accepts the others' tokens; without one, it is random per process. */
  constructor(secret: string | undefined) {
    this.#key = secret === undefined ? randomBytes(32) : new Uint8Array(hkdfSync('sha256', secret, 'tollgate', 'console session token', 32));
  }

  sign(sessionId: string, issuedAt: number, lifetimeMs: number): Promise<string> {
    return new SignJWT({ sid: sessionId })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt(Math.floor(issuedAt / 1000))
      .setExpirationTime(Math.floor((issuedAt + lifetimeMs) / 1000))
      .sign(this.#key);
  }

  /** The token's claims, or undefined when it is forged, malformed or expired. */
  async verify(token: string, now: number): Promise<SessionTokenClaims | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.#key, { algorithms: ['HS256'], currentDate: new Date(now) });
      if (typeof payload.sid !== 'string' || typeof payload.iat !== 'number') return undefined;
      return { sessionId: payload.sid, issuedAt: payload.iat * 1000 };
    } catch (error) {
      if (error instanceof errors.JOSEError) return undefined;
      throw error;
    }
  }
}
