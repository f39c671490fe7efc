import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { AppDeps } from '../deps.ts';
import type { TenantPrincipal } from '../modules/identity/index.ts';
import { DomainError, forbidden, httpStatusFor } from '../shared/errors.ts';
import { readJsonBody } from './openai/read-json-body.ts';
import { requestIdOf } from './request-id.ts';
import { sendJson } from './respond.ts';
import { clearedSessionCookie, isHttps, isSameOrigin, sessionCookie, sessionTokenOf } from './session-cookie.ts';

const signInBody = z.strictObject({ secret: z.string().trim().min(1, 'enter a secret') });

/** Who signed in, for the console to choose its screens: never the secret. */
function describe(principal: TenantPrincipal) {
  return {
    kind: principal.kind,
    tenantId: principal.tenantId ?? null,
    role: principal.kind === 'user' ? principal.role : null,
    scopes: principal.kind === 'api-key' ? principal.scopes : null,
  };
}

/** POST /console/session signs in with a secret (JSON `{ secret }`) and sets the cookie; DELETE signs out; GET says whether SSO is on. */
export async function handleConsoleSession(deps: AppDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const secure = isHttps(req);
  try {
    // A JSON body makes another origin's request preflighted; the Origin check refuses what got through.
    if (!isSameOrigin(req)) throw forbidden('sign in from the console served by this gateway');
    if (req.method === 'POST') {
      const { secret } = await readJsonBody(req, signInBody, 16_384);
      const { token, principal } = await deps.consoleSessions.signIn(secret);
      sendJson(res, 200, { session: describe(principal) }, { 'set-cookie': sessionCookie(token, deps.consoleSessions.tokenLifetimeMs, secure), 'cache-control': 'no-store' });
      return;
    }
    if (req.method === 'GET') {
      sendJson(res, 200, { sso: deps.consoleSessions.sso !== undefined }, { 'cache-control': 'no-store' });
      return;
    }
    if (req.method === 'DELETE') {
      const token = sessionTokenOf(req.headers.cookie);
      if (token !== undefined) await deps.consoleSessions.signOut(token);
      sendJson(res, 200, { signedOut: true }, { 'set-cookie': clearedSessionCookie(secure), 'cache-control': 'no-store' });
      return;
    }
    req.resume();
    sendJson(res, 405, { error: { message: `${req.method} is not allowed here: POST signs in, DELETE signs out, GET describes sign-in`, code: 'METHOD_NOT_ALLOWED' } }, { allow: 'GET, POST, DELETE' });
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    const status = httpStatusFor[error.code] ?? 400;
    sendJson(res, status, { error: { message: error.message, code: error.code, requestId: requestIdOf(req) } }, { 'cache-control': 'no-store' });
  }
}
