import type { AppDeps } from '../deps.ts';
import type { IncomingMessage } from 'node:http';
import type { Credentials, Principal, TenantPrincipal } from '../modules/identity/index.ts';
import { unauthenticated } from '../shared/errors.ts';
import { credentialsFromHeaders } from './credentials.ts';

/** A GraphQL caller's principal and, for a console session due for rotation, its next token. */
export interface Authenticated {
  principal: Principal;
  renewedSessionToken: string | undefined;
}

/** An Authorization header decides when present; otherwise the console's session cookie, if any. */
export async function authenticateGraphqlCaller(deps: AppDeps, credentials: Credentials): Promise<Authenticated> {
  if (credentials.authorization === undefined && credentials.sessionToken !== undefined) {
    const session = await deps.consoleSessions.resolve(credentials.sessionToken, credentials);
    return { principal: session.principal, renewedSessionToken: session.renewedToken };
  }
  return { principal: await deps.auth.authenticate(credentials), renewedSessionToken: undefined };
}

/** The /v1 routes' one preamble: the caller's principal from its Authorization header, or 401. */
export async function authenticateV1Caller(deps: AppDeps, req: IncomingMessage): Promise<TenantPrincipal> {
  const principal = await deps.auth.authenticate(credentialsFromHeaders(req.headers));
  if (principal.kind === 'anonymous') throw unauthenticated('missing credentials: send "Authorization: Bearer <API key>"');
  return principal;
}
