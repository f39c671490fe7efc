import type { IncomingMessage, ServerResponse } from 'node:http';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { buildContext, type GraphQLContext } from '../context.ts';
import type { AppDeps } from '../deps.ts';
import type { Credentials } from '../modules/identity/index.ts';
import { schema } from '../schema.ts';
import { newRequestId } from '../shared/ids.ts';
import { authenticateGraphqlCaller } from './authenticate.ts';
import { graphqlCredentials } from './credentials.ts';
import { isHttps, sessionCookie } from './session-cookie.ts';
import { toGraphQLError } from './graphql-errors.ts';
import { graphqlSecurityPlugins, introspectionEnabled } from './graphql-plugins.ts';
import { callerSentRequestId, requestIdOf } from './request-id.ts';
import { plannedSubscriptionsPlugin } from './planned-subscriptions.ts';
import { subscriptionAcceptPlugin } from './subscription-accept.ts';

/** What the transports hand to yoga: node's req/res over HTTP, credentials and request id over WebSocket. */
export interface ServerContext {
  req?: IncomingMessage;
  res?: ServerResponse;
  wsCredentials?: Credentials;
  wsRequestId?: string;
}

export type GraphqlServer = YogaServerInstance<ServerContext, GraphQLContext>;

export function createGraphqlServer(deps: AppDeps): GraphqlServer {
  const { logger, config } = deps;
  const maskError = (error: unknown) => toGraphQLError(error, logger, undefined);
  return createYoga<ServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: config.server.publicGraphiql && introspectionEnabled(config),
    // The per-principal rate limit runs at execution, after the document passed the security limits.
    plugins: [...graphqlSecurityPlugins(config), deps.graphqlRateLimit, subscriptionAcceptPlugin(), plannedSubscriptionsPlugin(maskError)],
    // Unexpected errors are logged once, with the request id, where they are masked.
    logging: false,
    maskedErrors: { maskError },
    context: async (initial) => {
      const requestId = initial.wsRequestId ?? (initial.req ? requestIdOf(initial.req) : undefined) ?? newRequestId();
      const credentials = initial.wsCredentials ?? (initial.req ? graphqlCredentials(initial.req.headers) : undefined);
      if (credentials === undefined) return buildContext(deps, requestId, { kind: 'anonymous' });
      const { principal, renewedSessionToken } = await authenticateGraphqlCaller(deps, credentials);
      if (renewedSessionToken !== undefined && initial.req && initial.res && !initial.res.headersSent) {
        initial.res.appendHeader('set-cookie', sessionCookie(renewedSessionToken, deps.consoleSessions.tokenLifetimeMs, isHttps(initial.req)));
      }
      return buildContext(deps, requestId, principal, initial.req !== undefined && callerSentRequestId(initial.req, requestId));
    },
  });
}
