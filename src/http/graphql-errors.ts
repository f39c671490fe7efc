import { GraphQLError } from 'graphql';
import { DomainError, httpStatusFor } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';

// Checked by name, not instanceof: yoga, the executor and graphql-ws may each hold their own copy of graphql.
const isGraphQLError = (error: unknown): error is GraphQLError => error instanceof Error && error.name === 'GraphQLError';

/** The innermost error a GraphQLError wraps. */
function rootCause(error: unknown): unknown {
  let current = error;
  while (isGraphQLError(current) && current.originalError) current = current.originalError;
  return current;
}

/** Expected failures keep their code and message; anything else is masked and logged with the request id. */
export function toGraphQLError(error: unknown, logger: Logger, requestId: string | undefined): GraphQLError {
  const located = isGraphQLError(error) ? error : undefined;
  const cause = rootCause(error);
  if (cause instanceof DomainError) {
    return new GraphQLError(cause.message, {
      nodes: located?.nodes,
      path: located?.path,
      extensions: { code: cause.code, ...cause.details, http: { status: httpStatusFor[cause.code] } },
    });
  }
  if (isGraphQLError(cause)) {
    // Parse, validation and variable errors are about the caller's document: say what is wrong.
    return new GraphQLError(cause.message, {
      nodes: cause.nodes,
      source: cause.source,
      positions: cause.positions,
      path: cause.path,
      extensions: { ...cause.extensions, code: cause.extensions.code ?? 'BAD_USER_INPUT' },
    });
  }
  logger.error({ err: cause, requestId }, 'unexpected error while resolving a GraphQL operation');
  return new GraphQLError('Unexpected error.', { path: located?.path, extensions: { code: 'INTERNAL_SERVER_ERROR', requestId } });
}
