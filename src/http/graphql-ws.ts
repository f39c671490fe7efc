import { GraphQLError, type ExecutionArgs } from 'graphql';
import type { Context } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { AppDeps } from '../deps.ts';
import { newRequestId } from '../shared/ids.ts';
import { isDatabaseUnavailable } from '../storage/database-outage.ts';
import type { Principal } from '../modules/identity/index.ts';
import { authenticateGraphqlCaller } from './authenticate.ts';
import { credentialsFromConnectionParams } from './credentials.ts';
import { isSameOrigin, sessionTokenOf } from './session-cookie.ts';
import type { GraphqlServer } from './graphql.ts';
import { toGraphQLError } from './graphql-errors.ts';

export interface GraphqlWsOptions {
  maxPayloadBytes: number;
  maxSubscriptionsPerSocket: number;
  keepAliveMs: number;
}

// setTimeout fires at once past this delay (about 24.8 days), so a longer wait is taken in steps.
const longestTimerMs = 2 ** 31 - 1;

function closeAtExpiry(expiresAt: number, close: () => void, armed: (timer: NodeJS.Timeout) => void): void {
  const wait = expiresAt - Date.now();
  const timer = setTimeout(() => (wait > longestTimerMs ? closeAtExpiry(expiresAt, close, armed) : close()), Math.max(0, Math.min(wait, longestTimerMs)));
  timer.unref();
  armed(timer);
}

/** Gives a document error yoga's code for it unless it already carries one of its own. */
function withCode(error: GraphQLError, code: string): GraphQLError {
  if (error.extensions.code !== 'BAD_USER_INPUT') return error;
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, extensions: { ...error.extensions, code } });
}

type SocketContext = Context<Record<string, unknown> | undefined, Extra>;

/** A socket's credentials: its connectionParams, and the console's session cookie sent with the upgrade. */
const socketCredentials = (ctx: SocketContext) => ({
  ...credentialsFromConnectionParams(ctx.connectionParams),
  // Another site's page may open a socket here; only this origin's pages get to use the cookie.
  sessionToken: isSameOrigin(ctx.extra.request) ? sessionTokenOf(ctx.extra.request.headers.cookie) : undefined,
});

interface EnvelopedRoot {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
}

/**
 * graphql-ws on the same path as yoga. Each subscribe runs through yoga.getEnveloped,
 * so every plugin, limit and auth check of the HTTP path applies here too.
 */
export function createGraphqlWsServer(deps: AppDeps, yoga: GraphqlServer, options: GraphqlWsOptions) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes });
  const connections = new Set<{ subscriptions: Record<string, unknown> }>();
  const expiries = new Map<object, NodeJS.Timeout>();
  // Open sockets by the API key and by the tenant they were opened with, to check again when either changes.
  const byApiKey = new Map<string, Set<SocketContext>>();
  const byTenant = new Map<string, Set<SocketContext>>();
  const indexed = new WeakMap<object, { keyId?: string; tenantId?: string }>();
  const add = (index: Map<string, Set<SocketContext>>, id: string, ctx: SocketContext) => index.set(id, (index.get(id) ?? new Set()).add(ctx));
  const remove = (index: Map<string, Set<SocketContext>>, id: string | undefined, ctx: SocketContext) => {
    if (id === undefined) return;
    const contexts = index.get(id);
    contexts?.delete(ctx);
    if (contexts?.size === 0) index.delete(id);
  };
  // A socket lives no longer than its token or key secret: its subscriptions would otherwise go on streaming.
  const closeWhenExpired = (ctx: SocketContext, principal: Principal) => {
    clearTimeout(expiries.get(ctx));
    expiries.delete(ctx);
    if (!connections.has(ctx)) return;
    if ((principal.kind !== 'user' && principal.kind !== 'api-key') || principal.expiresAt === undefined) return;
    const reason = principal.kind === 'user' ? 'Forbidden: the token expired' : 'Forbidden: the API key secret is no longer accepted';
    closeAtExpiry(principal.expiresAt, () => ctx.extra.socket.close(4403, reason), (timer) => expiries.set(ctx, timer));
  };
  // A key revoked or rotated, or a tenant suspended (on any instance), is checked again for every socket
  // it opened: one that no longer authenticates is closed, which ends its subscriptions, and one opened
  // with a secret now in its grace period is closed when that ends.
  const recheck = (contexts: Iterable<SocketContext>) => {
    for (const ctx of contexts) {
      authenticateGraphqlCaller(deps, socketCredentials(ctx)).then(
        ({ principal }) => closeWhenExpired(ctx, principal),
        (error: unknown) => {
          // An outage of the database does not make the credentials wrong; the next change re-checks them.
          if (isDatabaseUnavailable(error)) return;
          ctx.extra.socket.close(4403, `Forbidden: ${error instanceof Error ? error.message : 'credentials no longer valid'}`.slice(0, 123));
        },
      );
    }
  };
  const unsubscribe = deps.revocations.subscribe({
    evict: (keyId) => recheck([...(byApiKey.get(keyId) ?? [])]),
    evictTenant: (tenantId) => recheck([...(byTenant.get(tenantId) ?? [])]),
    evictAll: () => recheck([...byTenant.values()].flatMap((contexts) => [...contexts])),
  });
  const disposable = useServer(
    {
      connectionInitWaitTimeout: 3_000,
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args) as never,
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args) as never,
      // A refused connection closes with 4403 Forbidden; one that cannot be checked now, with 1013 Try Again Later.
      onConnect: async (ctx) => {
        try {
          const { principal } = await authenticateGraphqlCaller(deps, socketCredentials(ctx));
          if (principal.kind === 'anonymous') return false;
          connections.add(ctx);
          closeWhenExpired(ctx, principal);
          const keyId = principal.kind === 'api-key' ? principal.keyId : undefined;
          if (keyId !== undefined) add(byApiKey, keyId, ctx);
          if (principal.tenantId !== undefined) add(byTenant, principal.tenantId, ctx);
          indexed.set(ctx, { keyId, tenantId: principal.tenantId });
          return true;
        } catch (error) {
          if (isDatabaseUnavailable(error)) ctx.extra.socket.close(1013, 'the database is unreachable; retry shortly');
          return false;
        }
      },
      onClose: (ctx) => {
        connections.delete(ctx);
        clearTimeout(expiries.get(ctx));
        expiries.delete(ctx);
        const { keyId, tenantId } = indexed.get(ctx) ?? {};
        remove(byApiKey, keyId, ctx);
        remove(byTenant, tenantId, ctx);
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
        const requestId = newRequestId();
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          wsCredentials: socketCredentials(ctx),
          wsRequestId: requestId,
          req: ctx.extra.request,
        });
        let document;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [withCode(toGraphQLError(error, deps.logger, requestId), 'GRAPHQL_PARSE_FAILED')];
        }
        const errors = validate(schema, document);
        // The same codes yoga gives these over HTTP, so clients handle both transports alike.
        if (errors.length > 0) return errors.map((error: unknown) => withCode(toGraphQLError(error, deps.logger, requestId), 'GRAPHQL_VALIDATION_FAILED'));
        try {
          // Credentials are checked again on every subscribe: an expired token stops working on a live socket.
          const contextValue = await contextFactory();
          return {
            schema,
            document,
            operationName: payload.operationName,
            variableValues: payload.variables,
            contextValue,
            rootValue: { execute, subscribe } satisfies EnvelopedRoot,
          };
        } catch (error) {
          return [toGraphQLError(error, deps.logger, requestId)];
        }
      },
    },
    wss,
    options.keepAliveMs,
  );
  return {
    wss,
    /** Operations running now across all sockets; shutdown waits for them to finish. */
    activeOperations: () => [...connections].reduce((sum, ctx) => sum + Object.keys(ctx.subscriptions).length, 0),
    dispose: () => {
      unsubscribe();
      return disposable.dispose();
    },
  };
}
