import { GraphQLError } from 'graphql';
import { DomainError, httpStatusFor } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';

/** Expected failures keep their code and message; anything else is masked and logged with the request id. */
export function toGraphQLError(error: unknown, logger: Logger, requestId: string | undefined): GraphQLError {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  if (original instanceof DomainError) {
    return new GraphQLError(original.message, {
      nodes: error instanceof GraphQLError ? error.nodes : undefined,
      path: error instanceof GraphQLError ? error.path : undefined,
      extensions: { code: original.code, ...original.details, http: { status: httpStatusFor[original.code] } },
    });
  }
  if (original instanceof GraphQLError) {
    // Parse, validation and variable errors are about the caller's document: say what is wrong.
    if (original.extensions.code === undefined) {
      return new GraphQLError(original.message, {
        nodes: original.nodes,
        source: original.source,
        positions: original.positions,
        path: original.path,
        extensions: { ...original.extensions, code: 'BAD_USER_INPUT' },
      });
    }
    return original;
  }
  logger.error({ err: original, requestId }, 'unexpected error while resolving a GraphQL operation');
  return new GraphQLError('Unexpected error.', {
    path: error instanceof GraphQLError ? error.path : undefined,
    extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
  });
}
