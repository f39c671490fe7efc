import { GraphQLError } from 'graphql';
import { WebSocketServer } from 'ws';
import type { AppDeps } from '../deps.ts';
import { isDatabaseUnavailable } from '../storage/database-outage.ts';
import { authenticateGraphqlCaller } from './authenticate.ts';
import type { GraphqlServer } from './graphql.ts';
import { envelopedOperation, executeEnveloped, subscribeEnveloped } from './graphql-ws-operation.ts';
import { serveGraphqlWs } from './graphql-ws-transport.ts';
import { OpenSockets } from './open-sockets.ts';
import { socketCredentials } from './socket-credentials.ts';
import { SocketExpiry } from './socket-expiry.ts';
import { recheckSocketsOnRevocation } from './socket-revocation.ts';

export interface GraphqlWsOptions {
  maxPayloadBytes: number;
  maxSubscriptionsPerSocket: number;
  keepAliveMs: number;
}

/**
 * graphql-ws on the same path as yoga. Each subscribe runs through yoga.getEnveloped,
 * so every plugin, limit and auth check of the HTTP path applies here too.
 */
export function createGraphqlWsServer(deps: AppDeps, yoga: GraphqlServer, options: GraphqlWsOptions) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes });
  const sockets = new OpenSockets();
  const expiry = new SocketExpiry();
  const unsubscribe = recheckSocketsOnRevocation(deps, sockets, expiry);
  const disposable = serveGraphqlWs(
    {
      connectionInitWaitTimeout: 3_000,
      execute: executeEnveloped,
      subscribe: subscribeEnveloped,
      // A refused connection closes with 4403 Forbidden; one that cannot be checked now, with 1013 Try Again Later.
      onConnect: async (ctx) => {
        try {
          const { principal } = await authenticateGraphqlCaller(deps, socketCredentials(ctx));
          if (principal.kind === 'anonymous') return false;
          // Closed while it was being checked: onClose has run already, so nothing may be kept for it.
          if (ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) return false;
          sockets.add(ctx, principal);
          expiry.closeWhenExpired(ctx, principal);
          return true;
        } catch (error) {
          if (isDatabaseUnavailable(error)) ctx.extra.socket.close(1013, 'the database is unreachable; retry shortly');
          return false;
        }
      },
      onClose: (ctx) => {
        sockets.delete(ctx);
        expiry.cancel(ctx);
      },
      onSubscribe: async (ctx, _id, payload) => {
        // graphql-ws has already registered this operation: the others are the ones running.
        const active = Object.keys(ctx.subscriptions).length - 1;
        if (active >= options.maxSubscriptionsPerSocket) {
          return [
            new GraphQLError(`at most ${options.maxSubscriptionsPerSocket} active operations per connection`, {
              extensions: { code: 'RATE_LIMITED' },
            }),
          ];
        }
        return envelopedOperation(deps, yoga, ctx, payload);
      },
    },
    wss,
    options.keepAliveMs,
    deps.logger,
  );
  return {
    wss,
    /** Operations running now across all sockets; shutdown waits for them to finish. */
    activeOperations: () => sockets.activeOperations(),
    dispose: () => {
      unsubscribe();
      return disposable.dispose();
    },
  };
}
