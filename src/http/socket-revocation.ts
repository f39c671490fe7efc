import type { AppDeps } from '../deps.ts';
import { isDatabaseUnavailable } from '../storage/database-outage.ts';
import { authenticateGraphqlCaller } from './authenticate.ts';
import type { OpenSockets } from './open-sockets.ts';
import { socketCredentials, type SocketContext } from './socket-credentials.ts';
import type { SocketExpiry } from './socket-expiry.ts';

/**
 * A key revoked or rotated, or a tenant suspended (on any instance), is checked again for every socket
 * it opened: one that no longer authenticates is closed, which ends its subscriptions, and one opened
 * with a secret now in its grace period is closed when that ends. Returns the unsubscribe.
 */
export function recheckSocketsOnRevocation(deps: AppDeps, sockets: OpenSockets, expiry: SocketExpiry): () => void {
  const recheck = (contexts: Iterable<SocketContext>) => {
    for (const ctx of contexts) {
      authenticateGraphqlCaller(deps, socketCredentials(ctx)).then(
        // The socket may have closed while its credentials were checked; its timer went with it.
        ({ principal }) => sockets.has(ctx) && expiry.closeWhenExpired(ctx, principal),
        (error: unknown) => {
          // An outage of the database does not make the credentials wrong; the next change re-checks them.
          if (isDatabaseUnavailable(error)) return;
          ctx.extra.socket.close(4403, `Forbidden: ${error instanceof Error ? error.message : 'credentials no longer valid'}`.slice(0, 123));
        },
      );
    }
  };
  return deps.revocations.subscribe({
    evict: (keyId) => recheck(sockets.openedWithKey(keyId)),
    evictTenant: (tenantId) => recheck(sockets.openedInTenant(tenantId)),
    evictAll: () => recheck(sockets.openedInAnyTenant()),
  });
}
