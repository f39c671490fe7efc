import { GraphQLError, type ExecutionArgs } from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import type { AppDeps } from '../deps.ts';
import { newRequestId } from '../shared/ids.ts';
import type { GraphqlServer } from './graphql.ts';
import { toGraphQLError } from './graphql-errors.ts';
import { socketCredentials, type SocketContext } from './socket-credentials.ts';

/** yoga's execute and subscribe for one operation, carried to graphql-ws in its rootValue. */
interface EnvelopedRoot {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
}

/** Runs an operation prepared by envelopedOperation with yoga's execute. */
export const executeEnveloped = (args: ExecutionArgs) => (args.rootValue as EnvelopedRoot).execute(args) as never;

/** Runs an operation prepared by envelopedOperation with yoga's subscribe. */
export const subscribeEnveloped = (args: ExecutionArgs) => (args.rootValue as EnvelopedRoot).subscribe(args) as never;

/** Gives a document error yoga's code for it unless it already carries one of its own. */
function withCode(error: GraphQLError, code: string): GraphQLError {
  if (error.extensions.code !== 'BAD_USER_INPUT') return error;
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, extensions: { ...error.extensions, code } });
}

/**
 * Prepares one subscribe message through yoga.getEnveloped, so every plugin, limit and auth check of
 * the HTTP path applies here too: the execution arguments, or the errors that refuse it.
 */
export async function envelopedOperation(deps: AppDeps, yoga: GraphqlServer, ctx: SocketContext, payload: SubscribePayload): Promise<ExecutionArgs | GraphQLError[]> {
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
}
