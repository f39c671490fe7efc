import * as oidc from 'openid-client';
import { unauthenticated } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';

export interface ConsoleSsoOptions {
  issuer: string;
  clientId: string;
  clientSecret: string | undefined;
  /** The ID token claims naming the tenant and the role (admin | member), as dashboard JWTs' tid and role. */
  tenantClaim: string;
  roleClaim: string;
  logger: Logger;
}

/** What the provider says about the person signing in, mapped as dashboard JWTs are. */
export interface SsoIdentity {
  userId: string;
  tenantId: string;
  role: 'admin' | 'member';
  /** When the tokens lapse (epoch ms); the session refreshes then. */
  expiresAt: number;
  refreshToken: string | undefined;
}

/** What the browser carries from the start of a sign-in to its callback, in a signed cookie. */
export interface SsoTransaction {
  state: string;
  nonce: string;
  verifier: string;
}

const loopback = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Single sign-on for the console: the authorization code flow with PKCE, and refreshes. */
export class ConsoleSso {
  readonly #options: ConsoleSsoOptions;
  #configuration: Promise<oidc.Configuration> | undefined;

  constructor(options: ConsoleSsoOptions) {
    this.#options = options;
  }

  /** The provider's URL to send the browser to, and the checks its answer must pass. */
  async start(redirectUri: string): Promise<{ url: string; transaction: SsoTransaction }> {
    const configuration = await this.#discovered();
    const transaction = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier() };
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: redirectUri,
      // offline_access asks for a refresh token; providers grant it only with consent.
      scope: 'openid profile offline_access',
      prompt: 'consent',
      state: transaction.state,
      nonce: transaction.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(transaction.verifier),
      code_challenge_method: 'S256',
    });
    return { url: url.href, transaction };
  }

  /** Exchanges the callback's code; the provider's refusal or a failed check is UNAUTHENTICATED. */
  async finish(callbackUrl: URL, transaction: SsoTransaction): Promise<SsoIdentity> {
    const configuration = await this.#discovered();
    let tokens;
    try {
      tokens = await oidc.authorizationCodeGrant(configuration, callbackUrl, {
        pkceCodeVerifier: transaction.verifier,
        expectedState: transaction.state,
        expectedNonce: transaction.nonce,
        idTokenExpected: true,
      });
    } catch (error) {
      throw unauthenticated(`single sign-on failed: ${describe(error)}`);
    }
    return this.#identity(tokens, undefined);
  }

  /** New tokens for a session whose tokens lapsed; the provider may change the claims. */
  async refresh(refreshToken: string): Promise<SsoIdentity> {
    const configuration = await this.#discovered();
    let tokens;
    try {
      tokens = await oidc.refreshTokenGrant(configuration, refreshToken);
    } catch (error) {
      throw unauthenticated(`the single sign-on session could not be refreshed: ${describe(error)}`);
    }
    return this.#identity(tokens, refreshToken);
  }

  #identity(tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers, previousRefreshToken: string | undefined): SsoIdentity {
    const claims = tokens.claims();
    if (claims === undefined) throw unauthenticated('single sign-on failed: the provider sent no ID token');
    const { tenantClaim, roleClaim } = this.#options;
    const tenantId = claims[tenantClaim];
    const role = claims[roleClaim] ?? 'member';
    if (typeof tenantId !== 'string' || tenantId === '') throw unauthenticated(`single sign-on failed: the ID token lacks the "${tenantClaim}" claim naming the tenant`);
    if (role !== 'admin' && role !== 'member') throw unauthenticated(`single sign-on failed: the "${roleClaim}" claim must be "admin" or "member"`);
    const expiresIn = tokens.expiresIn() ?? Math.max(0, claims.exp - Math.floor(Date.now() / 1000));
    return { userId: claims.sub, tenantId, role, expiresAt: Date.now() + expiresIn * 1000, refreshToken: tokens.refresh_token ?? previousRefreshToken };
  }

  /** Discovery runs on first use and again after a failure, so a provider down at start-up is not fatal. */
  #discovered(): Promise<oidc.Configuration> {
    if (this.#configuration === undefined) {
      const { issuer, clientId, clientSecret } = this.#options;
      const url = new URL(issuer);
      // Plain HTTP only to a provider on this machine (development and tests).
      const insecure = url.protocol === 'http:' && loopback.has(url.hostname) ? { execute: [oidc.allowInsecureRequests] } : undefined;
      this.#configuration = oidc.discovery(url, clientId, clientSecret, undefined, insecure).catch((error: unknown) => {
        this.#configuration = undefined;
        this.#options.logger.error({ err: error, issuer }, 'OpenID provider discovery failed');
        throw unauthenticated(`single sign-on is unavailable: the provider at ${issuer} did not answer (${describe(error)})`);
      });
    }
    return this.#configuration;
  }
}

function describe(error: unknown): string {
  if (error instanceof oidc.ResponseBodyError) return error.error_description ?? error.error;
  return error instanceof Error ? error.message : String(error);
}
