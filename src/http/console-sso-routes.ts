import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppDeps } from '../deps.ts';
import type { ConsoleSso, SsoTransaction } from '../modules/console-session/index.ts';
import { SignedTokens } from '../modules/console-session/index.ts';
import { DomainError } from '../shared/errors.ts';
import { requestIdOf } from './request-id.ts';
import { sendJson } from './respond.ts';
import { cookieValue, isHttps, sessionCookie } from './session-cookie.ts';

const transactionCookie = 'tollgate_sso';
const transactionLifetimeMs = 10 * 60_000;

/**
 * GET /console/sso/start sends the browser to the OpenID provider; GET /console/sso/callback takes it
 * back, opens a session and returns to the console (with `sso_error` in the URL when refused).
 */
export function createConsoleSsoRoutes(deps: AppDeps) {
  // The PKCE verifier, state and nonce ride in a signed cookie between the two requests.
  const transactions = new SignedTokens(deps.config.auth.secret, 'console sso transaction');
  const redirectUri = (req: IncomingMessage) => deps.config.oidc.redirectUrl ?? `${isHttps(req) ? 'https' : 'http'}://${req.headers.host}/console/sso/callback`;
  // Lax, not Strict: the provider's redirect back is a navigation from another site.
  const transactionCookieOf = (value: string, maxAgeMs: number, secure: boolean) =>
    `${transactionCookie}=${value}; Path=/console/sso; Max-Age=${Math.floor(maxAgeMs / 1000)}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;

  const redirect = (res: ServerResponse, location: string, cookies: string[]) => {
    res.writeHead(302, { location, 'set-cookie': cookies, 'cache-control': 'no-store' });
    res.end();
  };

  const start = async (sso: ConsoleSso, req: IncomingMessage, res: ServerResponse) => {
    const { url, transaction } = await sso.start(redirectUri(req));
    const token = await transactions.sign({ ...transaction }, Date.now(), transactionLifetimeMs);
    redirect(res, url, [transactionCookieOf(token, transactionLifetimeMs, isHttps(req))]);
  };

  const callback = async (sso: ConsoleSso, req: IncomingMessage, res: ServerResponse) => {
    const secure = isHttps(req);
    const cleared = transactionCookieOf('', 0, secure);
    try {
      const token = cookieValue(req.headers.cookie, transactionCookie);
      const verified = token === undefined ? undefined : await transactions.verify(token, Date.now());
      const { state, nonce, verifier } = verified?.claims ?? {};
      if (state === undefined || nonce === undefined || verifier === undefined) {
        throw new DomainError('UNAUTHENTICATED', 'the single sign-on attempt expired or was started in another browser: try again');
      }
      const transaction: SsoTransaction = { state, nonce, verifier };
      const callbackUrl = new URL(req.url ?? '/', redirectUri(req));
      const identity = await sso.finish(callbackUrl, transaction);
      const sessionToken = await deps.consoleSessions.signInWithSso(identity);
      redirect(res, '/console/', [cleared, sessionCookie(sessionToken, deps.consoleSessions.tokenLifetimeMs, secure)]);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      const query = new URLSearchParams({ sso_error: error.message, request_id: requestIdOf(req) ?? '' });
      redirect(res, `/console/?${query}`, [cleared]);
    }
  };

  return async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const sso = deps.consoleSessions.sso;
    if (sso === undefined) {
      sendJson(res, 404, { error: { message: 'single sign-on is not configured: set TOLLGATE_OIDC_ISSUER and TOLLGATE_OIDC_CLIENT_ID', code: 'NOT_FOUND' } });
      return;
    }
    if (req.method !== 'GET') {
      req.resume();
      sendJson(res, 405, { error: { message: `${req.method} is not allowed here`, code: 'METHOD_NOT_ALLOWED' } }, { allow: 'GET' });
      return;
    }
    if (path === '/console/sso/start') {
      try {
        await start(sso, req, res);
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        redirect(res, `/console/?${new URLSearchParams({ sso_error: error.message, request_id: requestIdOf(req) ?? '' })}`, []);
      }
      return;
    }
    await callback(sso, req, res);
  };
}
