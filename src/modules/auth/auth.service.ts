import { secretsEqual } from '../../shared/digest.ts';
import { unauthenticated } from '../../shared/errors.ts';
import type { Credentials, Principal } from './principal.ts';

export interface AuthServiceOptions {
  adminKey: string | undefined;
}

/** Resolves a request's credentials to a principal; a presented but invalid secret is an error, never anonymous. */
export class AuthService {
  readonly #adminKey: string | undefined;

  constructor(options: AuthServiceOptions) {
    this.#adminKey = options.adminKey;
  }

  async authenticate(credentials: Credentials): Promise<Principal> {
    if (credentials.authorization === undefined) return { kind: 'anonymous' };
    const match = /^Bearer\s+(\S+)\s*$/i.exec(credentials.authorization);
    if (!match?.[1]) throw unauthenticated('the Authorization header must be "Bearer <secret>"');
    const secret = match[1];
    if (this.#adminKey !== undefined && secretsEqual(secret, this.#adminKey)) {
      return { kind: 'platform', tenantId: credentials.tenantId, userId: credentials.userId };
    }
    throw unauthenticated('the bearer secret is not a valid admin key, API key or token');
  }
}
