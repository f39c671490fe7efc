import type { AppDeps } from '../deps.ts';
import type { Credentials, Principal } from '../modules/identity/index.ts';

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
